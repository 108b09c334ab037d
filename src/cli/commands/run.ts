import type { PhpasyncConfig } from '../../config/model.js';
import { bool, parseFlags, str } from '../args.js';
import type { Command } from '../command.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, loadFromFlags } from '../config-source.js';
import { EXIT_CONFIG, EXIT_OK, formatConfigError, printWarnings } from '../report.js';
import { writePidFile } from '../../supervisor/pidfile.js';
import { loadServer, runnableProblems, supervise } from '../runtime.js';

/** Refuses what cannot run (exit 2), then serves until SIGINT/SIGTERM. Shared with php-server. */
export async function serve(config: PhpasyncConfig, watch: boolean, pidFile?: string): Promise<number> {
  const problems = await runnableProblems(config);
  if (problems.length > 0) {
    for (const e of problems) process.stderr.write(formatConfigError(e) + '\n');
    return EXIT_CONFIG;
  }
  // Several processes (global `processes`, or `num N` on an NTS PHP): src/supervisor/.
  if (!watch && (await supervise(config, pidFile))) return EXIT_OK;
  const removePid = pidFile ? writePidFile(pidFile) : undefined;
  try {
    await (await loadServer()).runServer(config, { watch });
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
  -w, --watch          Restart workers when their watched files change
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
    return serve(config, bool(p, 'watch'), str(p, 'pidfile'));
  },
};
