import fs from 'node:fs';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_RUNTIME, UsageError } from '../report.js';
import { loadNative } from '../runtime.js';

export const phpCli: Command = {
  name: 'php-cli',
  summary: 'Run a PHP script with the embedded PHP; its exit code becomes ours',
  help: `Usage: phpasync php-cli SCRIPT [ARGS...]

Runs SCRIPT with phpasync's embedded PHP (same version, extensions and php.ini as the server),
passing ARGS to it as $argv. Everything after SCRIPT goes to the script, flags included.

Exit status: the script's exit code; 1 when the script cannot be opened.`,
  async run(argv) {
    const [script, ...args] = argv;
    if (script === '-h' || script === '--help') {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    if (script === undefined) throw new UsageError("php-cli: missing SCRIPT\nRun 'phpasync php-cli --help' for usage.");
    if (!fs.existsSync(script) || !fs.statSync(script).isFile()) {
      process.stderr.write(`Could not open input file: ${script}\n`);
      return EXIT_RUNTIME;
    }
    const native = await loadNative();
    return native.runPhpCli(script, args);
  },
};
