import { PhpasyncError } from '../../server/errors.js';
import { readPidFile, runs, SUPERVISOR_TITLE } from '../../supervisor/pidfile.js';
import { parseFlags, str, bool } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_OK, UsageError } from '../report.js';

// `phpasync reload`: tells a running server to replace its processes one at a time (SIGHUP to
// the pid its `run --pidfile` wrote), as `nginx -s reload` does. It returns once the signal is
// sent; the server logs the reload's progress ("reload done").
export const reload: Command = {
  name: 'reload',
  summary: 'Replace the processes of a running server one at a time',
  help: `Usage: phpasync reload --pidfile FILE

Sends SIGHUP to the server whose pid \`phpasync run --pidfile FILE\` wrote. A server running
several processes (the global option \`processes\`, or \`num N\` on an NTS PHP) then starts a new
process for each one, one at a time, before the old one stops taking connections: no request is
refused. The old processes finish the requests they hold. The new processes read the worker
file and PHP code again, not the Caddyfile (restart the server for a new config). A server
running one process only logs that SIGHUP is not implemented there.

Options:
      --pidfile FILE   Where the server wrote its pid
  -h, --help           Show this help

Exit status: 0 once the signal is sent, 1 when the pid file or the process is not there.`,
  async run(argv) {
    const p = parseFlags('reload', argv, { pidfile: { type: 'string' } });
    if (bool(p, 'help')) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    const file = str(p, 'pidfile');
    if (file === undefined) {
      throw new UsageError("reload: --pidfile FILE is required (the file `phpasync run --pidfile FILE` writes)\nRun 'phpasync reload --help' for usage.");
    }
    const pid = readPidFile(file);
    if (runs(pid, SUPERVISOR_TITLE) === false) throw new PhpasyncError('PHPASYNC_RELOAD_TARGET', [pid, file]);
    try {
      process.kill(pid, 'SIGHUP');
    } catch (err) {
      throw new PhpasyncError('PHPASYNC_RELOAD_SIGNAL', [pid, file, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
    }
    process.stdout.write(`phpasync reload: SIGHUP sent to ${pid}\n`);
    return EXIT_OK;
  },
};
