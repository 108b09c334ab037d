#!/usr/bin/env node
// A `php`-shaped entry: `php.js ARGS` is `phpasync php-cli ARGS`. php-cli gives its path to PHP
// as PHP_BINARY, so tools that start PHP again (Composer, Symfony Console) run the same PHP.
import '../server/signals.js';
import { phpCli } from './commands/php-cli.js';
import { reportError } from './report.js';

try {
  process.exitCode = await phpCli.run(process.argv.slice(2));
} catch (err) {
  process.exitCode = reportError(err);
}
