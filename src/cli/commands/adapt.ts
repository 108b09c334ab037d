import { bool, parseFlags } from '../args.js';
import type { Command } from '../command.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, loadFromFlags } from '../config-source.js';
import { EXIT_OK, printWarnings } from '../report.js';

export const adapt: Command = {
  name: 'adapt',
  summary: 'Print the config a Caddyfile turns into, as JSON',
  help: `Usage: phpasync adapt [--config FILE] [--pretty]

Reads a Caddyfile and prints the configuration phpasync would run, as JSON (like caddy adapt).
Directives that the runtime does not support yet are still shown; use validate to check them.

Options:
${CONFIG_FLAGS_HELP}
  -p, --pretty         Indent the JSON
  -h, --help           Show this help

Exit status: 0 on success, 2 when the config has an error.`,
  async run(argv) {
    const p = parseFlags('adapt', argv, { ...CONFIG_FLAGS, pretty: { type: 'boolean', short: 'p' } });
    if (bool(p, 'help')) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    const { config, warnings } = loadFromFlags(p, 'adapt');
    printWarnings(warnings);
    process.stdout.write(JSON.stringify(config, null, bool(p, 'pretty') ? 2 : undefined) + '\n');
    return EXIT_OK;
  },
};
