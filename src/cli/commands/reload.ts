import http from 'node:http';

import { DEFAULT_ADMIN_ADDRESS, parseAdminAddress } from '../../config/admin-address.js';
import { PhpasyncError } from '../../server/errors.js';
import { readPidFile, runs, SUPERVISOR_TITLE } from '../../supervisor/pidfile.js';
import { parseFlags, str, bool } from '../args.js';
import type { Command } from '../command.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, loadFromFlags } from '../config-source.js';
import { EXIT_OK, printWarnings, UsageError } from '../report.js';

// `phpasync reload`: as `caddy reload`, adapts a Caddyfile and posts it to the running server's
// admin endpoint (POST /load, src/server/admin.ts), which checks it and replaces its PHP
// processes with ones running it; the answer comes once the new config serves (or why not).
// With --pidfile, the older way: SIGHUP to a supervisor, which restarts its processes on the
// config it has.

/** What /load answers (src/server/admin.ts). */
interface LoadAnswer {
  applied: boolean;
  message: string;
  errors: string[];
}

function post(address: string, body: string): Promise<{ status: number; answer: LoadAnswer }> {
  const where = parseAdminAddress(address);
  if (!where) throw new UsageError(`reload: --address takes host:port or :port, got '${address}'`);
  const url = `http://${where.host.includes(':') ? `[${where.host}]` : where.host}:${where.port}/load`;
  return new Promise((resolve, reject) => {
    // No timeout: the answer comes after the old processes started draining, which a long
    // request may make take up to drain_timeout.
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, answer: JSON.parse(text) as LoadAnswer });
        } catch {
          reject(new PhpasyncError('PHPASYNC_RELOAD_REFUSED', [`${url} answered ${res.statusCode} with what is not a phpasync answer: ${text.slice(0, 200)}`]));
        }
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => reject(new PhpasyncError('PHPASYNC_RELOAD_UNREACHABLE', [url, err.code ?? err.message])));
    req.end(body);
  });
}

export const reload: Command = {
  name: 'reload',
  summary: 'Apply a changed config to a running server',
  help: `Usage: phpasync reload [--config FILE] [--address ADDR]
       phpasync reload --pidfile FILE

Adapts the Caddyfile (as \`phpasync adapt\` does) and posts it to the admin endpoint of the
running server (POST /load, as \`caddy reload\`). The server checks it as \`run\` would; a config
that fails the checks, or whose workers fail to start, is refused and the old one keeps
serving. Otherwise its PHP processes are replaced, one at a time, by ones running the new config:
no request is refused. Changing the listening addresses, the admin address or the number of
processes needs a restart: such a load is refused and says so. A server of one process
(without the global option \`processes\`) checks the config but cannot apply it.

With --pidfile, sends SIGHUP to the server whose pid \`phpasync run --pidfile FILE\` wrote: a
server of several processes replaces them one at a time, with the config it already has.

Options:
${CONFIG_FLAGS_HELP}
      --address ADDR   The admin endpoint (default: the config's global option admin,
                       else ${DEFAULT_ADMIN_ADDRESS})
      --pidfile FILE   Signal the server whose pid is there instead
  -h, --help           Show this help

Exit status: 0 once the new config serves (or the signal is sent), 2 when the config is not
valid (here or for the server), 1 when the server did not apply it or cannot be reached.`,
  async run(argv) {
    const p = parseFlags('reload', argv, { ...CONFIG_FLAGS, pidfile: { type: 'string' }, address: { type: 'string' } });
    if (bool(p, 'help')) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    const file = str(p, 'pidfile');
    if (file === undefined) {
      const { config, warnings } = loadFromFlags(p, 'reload');
      printWarnings(warnings);
      const g = config.global;
      const address = str(p, 'address') ?? (typeof g?.admin === 'string' ? g.admin : DEFAULT_ADMIN_ADDRESS);
      const { status, answer } = await post(address, JSON.stringify(config));
      const details = answer.errors.filter((e) => e !== '' && !answer.message.includes(e));
      const text = [answer.message, ...details].join('\n');
      if (answer.applied) {
        process.stdout.write(`phpasync reload: ${text}\n`);
        return EXIT_OK;
      }
      throw new PhpasyncError(status === 400 ? 'PHPASYNC_RELOAD_INVALID' : 'PHPASYNC_RELOAD_REFUSED', [text]);
    }
    if (str(p, 'config') !== undefined) throw new UsageError('reload: --pidfile and --config do not go together (SIGHUP restarts on the config the server has)');
    const pid = readPidFile(file);
    if (runs(pid, SUPERVISOR_TITLE) === false) throw new PhpasyncError('PHPASYNC_RELOAD_TARGET', [pid, file]);
    try {
      process.kill(pid, 'SIGHUP');
    } catch (err) {
      throw new PhpasyncError('PHPASYNC_RELOAD_SIGNAL', [pid, file, (err as Error & { code?: string }).code ?? (err as Error).message]);
    }
    process.stdout.write(`phpasync reload: SIGHUP sent to ${pid}\n`);
    return EXIT_OK;
  },
};
