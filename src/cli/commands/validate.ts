import { bool, parseFlags } from '../args.js';
import type { Command } from '../command.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, loadFromFlags } from '../config-source.js';
import { EXIT_CONFIG, EXIT_OK, formatConfigError, printWarnings } from '../report.js';
import { runnableProblems } from '../runtime.js';

export const validate: Command = {
  name: 'validate',
  summary: 'Check that a Caddyfile is valid and runnable',
  help: `Usage: phpasync validate [--config FILE]

Reads the Caddyfile, checks the files it names (worker scripts, roots, certificates) and asks
the server and the linked PHP whether they can run everything in it: the same checks run
makes before it starts. Prints "Valid configuration" or every problem.

Options:
${CONFIG_FLAGS_HELP}
  -h, --help           Show this help

Exit status: 0 when valid, 2 when the config has an error or uses what the runtime lacks.`,
  async run(argv) {
    const p = parseFlags('validate', argv, CONFIG_FLAGS);
    if (bool(p, 'help')) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    const { config, warnings } = loadFromFlags(p, 'validate');
    printWarnings(warnings);
    const problems = await runnableProblems(config);
    if (problems.length > 0) {
      for (const e of problems) process.stderr.write(formatConfigError(e) + '\n');
      return EXIT_CONFIG;
    }
    process.stdout.write('Valid configuration\n');
    return EXIT_OK;
  },
};
