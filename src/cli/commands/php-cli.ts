import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { CliRun } from '../../native/index.js';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_RUNTIME, UsageError } from '../report.js';
import { loadNative } from '../runtime.js';

/** PHP_BINARY: the `php`-shaped entry next to this CLI (Composer and the like run it). */
const PHP_ENTRY = fileURLToPath(new URL('../php.js', import.meta.url));

export const phpCli: Command = {
  name: 'php-cli',
  summary: 'Run PHP as its CLI does (a script, -r code, -v, -m, -i) with the embedded PHP',
  help: `Usage: phpasync php-cli [-v | -m | -i | -r CODE [ARGS...] | SCRIPT [ARGS...]]

Runs PHP with phpasync's embedded PHP (same version, extensions and php.ini as the server), as
PHP's own CLI does: PHP_SAPI is "cli", and PHP_BINARY names an executable that runs this same
CLI (so Composer and Symfony Console can start PHP again).

  SCRIPT [ARGS...]   run SCRIPT with $argv = [SCRIPT, ARGS...]; everything after SCRIPT goes to it
  -r CODE [ARGS...]  run CODE (without <?php)
  -v, --version      PHP's version
  -m, --modules      the loaded modules
  -i, --info         phpinfo() as text

Exit status: the script's exit code; 1 when the script cannot be opened.`,
  async run(argv) {
    const [first, ...rest] = argv;
    let run: CliRun;
    switch (first) {
      case '-h':
      case '--help':
        process.stdout.write(this.help + '\n');
        return EXIT_OK;
      case undefined:
        throw new UsageError("php-cli: missing SCRIPT (or -r CODE, -v, -m, -i)\nRun 'phpasync php-cli --help' for usage.");
      case '-v':
      case '--version':
        run = { mode: 'version' };
        break;
      case '-m':
      case '--modules':
        run = { mode: 'modules' };
        break;
      case '-i':
      case '--info':
        run = { mode: 'info' };
        break;
      case '-r': {
        const [code, ...args] = rest;
        if (code === undefined) throw new UsageError("php-cli: -r needs CODE\nRun 'phpasync php-cli --help' for usage.");
        run = { mode: 'code', code, args: args[0] === '--' ? args.slice(1) : args };
        break;
      }
      default:
        if (first.startsWith('-') && first !== '-') {
          throw new UsageError(`php-cli: not supported yet: the PHP CLI option ${first}\nRun 'phpasync php-cli --help' for usage.`);
        }
        if (!fs.existsSync(first) || !fs.statSync(first).isFile()) {
          process.stderr.write(`Could not open input file: ${first}\n`);
          return EXIT_RUNTIME;
        }
        run = { mode: 'script', script: first, args: rest };
    }
    const native = await loadNative();
    return native.runPhpCli({ ...run, binary: PHP_ENTRY });
  },
};
