import { bool, parseFlags } from '../args.js';
import type { Command } from '../command.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, loadFromFlags } from '../config-source.js';
import { EXIT_CONFIG, EXIT_OK, formatConfigError, printWarnings } from '../report.js';
import { runnableProblems } from '../runtime.js';

export const adapt: Command = {
  name: 'adapt',
  summary: 'Print the config a Caddyfile turns into, as JSON',
  help: `Usage: phpasync adapt [--config FILE] [--pretty]

Reads a Caddyfile and prints the configuration phpasync would run, as JSON (like caddy adapt).
Directives that the runtime does not support yet are still shown; use validate to check them.

Options:
${CONFIG_FLAGS_HELP}
  -p, --pretty         Indent the JSON
      --validate       Also run validate's checks; print nothing and exit 2 if they fail
  -h, --help           Show this help

Exit status: 0 on success, 2 when the config has an error.`,
  async run(argv) {
    const p = parseFlags('adapt', argv, {
      ...CONFIG_FLAGS,
      pretty: { type: 'boolean', short: 'p' },
      validate: { type: 'boolean' },
    });
    if (bool(p, 'help')) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    const { config, warnings } = loadFromFlags(p, 'adapt');
    printWarnings(warnings);
    if (bool(p, 'validate')) {
      const problems = await runnableProblems(config);
      for (const e of problems) process.stderr.write(formatConfigError(e) + '\n');
      if (problems.length > 0) return EXIT_CONFIG;
    }
    process.stdout.write(JSON.stringify(config, null, bool(p, 'pretty') ? 2 : undefined) + '\n');
    return EXIT_OK;
  },
};
