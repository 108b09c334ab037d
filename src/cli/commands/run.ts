import type { PhpasyncConfig } from '../../config/model.js';
import { bool, parseFlags, str } from '../args.js';
import type { Command } from '../command.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, loadFromFlags } from '../config-source.js';
import { EXIT_CONFIG, EXIT_OK, formatConfigError, printWarnings } from '../report.js';
import { writePidFile } from '../../supervisor/pidfile.js';
import { loadServer, runnableProblems, supervise, type SuperviseOptions } from '../runtime.js';
import { loadCaddyfile } from '../../caddyfile/index.js';

/** Refuses what cannot run (exit 2), then serves until SIGINT/SIGTERM. Shared with php-server.
 * `configFile` (run --watch): the Caddyfile is loaded again whenever it changes. */
export async function serve(config: PhpasyncConfig, configFile?: SuperviseOptions['configFile'], pidFile?: string): Promise<number> {
  const problems = await runnableProblems(config);
  if (problems.length > 0) {
    for (const e of problems) process.stderr.write(formatConfigError(e) + '\n');
    return EXIT_CONFIG;
  }
  // Several processes (global `processes`, or `num N` on an NTS PHP), or restarts on file
  // changes: src/supervisor/.
  if (await supervise(config, { ...(pidFile ? { pidFile } : {}), ...(configFile ? { configFile } : {}) })) return EXIT_OK;
  const removePid = pidFile ? writePidFile(pidFile) : undefined;
  try {
    await (await loadServer()).runServer(config, { watch: false });
  } finally {
    removePid?.();
  }
  return EXIT_OK;
}

export const run: Command = {
  name: 'run',
  summary: 'Start the server in the foreground',
  help: `Usage: phpasync run [--config FILE] [--watch]

Starts phpasync with the given Caddyfile and serves until SIGINT or SIGTERM. With several
processes (the global option \`processes\`, or \`num N\` on an NTS PHP), SIGHUP replaces them one
at a time (\`phpasync reload\`).

Options:
${CONFIG_FLAGS_HELP}
  -w, --watch          Load the Caddyfile again when it changes (as phpasync reload would)
      --pidfile FILE   Write the server's pid there (for \`phpasync reload\`)
  -h, --help           Show this help

Exit status: 0 after a clean stop, 2 for a config error (including directives the runtime
does not support yet), 1 when the server fails at run time.`,
  async run(argv) {
    const p = parseFlags('run', argv, { ...CONFIG_FLAGS, watch: { type: 'boolean', short: 'w' }, pidfile: { type: 'string' } });
    if (bool(p, 'help')) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    const { config, warnings } = loadFromFlags(p, 'run');
    printWarnings(warnings);
    // Read again as it was read now (the same file, the --envfile values are in the environment).
    const configFile = bool(p, 'watch') ? { path: config.configFile, read: () => loadCaddyfile(config.configFile).config } : undefined;
    return serve(config, configFile, str(p, 'pidfile'));
  },
};
