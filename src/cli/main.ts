#!/usr/bin/env node
// phpasync: the command line, shaped like caddy's and frankenphp's.

// First, before the other modules run: SIGHUP/SIGUSR1/SIGUSR2 are ignored from here on.
import '../server/signals.js';
import { closest } from '../caddyfile/suggest.js';
import type { Command } from './command.js';
import { adapt } from './commands/adapt.js';
import { bench } from './commands/bench.js';
import { phpCli } from './commands/php-cli.js';
import { phpServer } from './commands/php-server.js';
import { reload } from './commands/reload.js';
import { run } from './commands/run.js';
import { validate } from './commands/validate.js';
import { version } from './commands/version.js';
import { EXIT_CONFIG, EXIT_OK, reportError } from './report.js';

const COMMANDS: Command[] = [run, reload, adapt, validate, phpServer, phpCli, bench, version];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `phpasync: PHP application server on Node.js (FrankenPHP's TrueAsync workers, Caddyfile config)

Usage: phpasync <command> [options]

Commands:
${list}
  help [command]  Show help for a command

Run 'phpasync <command> --help' for a command's options.
`;
}

function find(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    process.stdout.write(usage());
    return EXIT_OK;
  }
  if (name === 'help') {
    const target = rest[0];
    if (target === undefined) {
      process.stdout.write(usage());
      return EXIT_OK;
    }
    const cmd = find(target);
    if (!cmd) return unknownCommand(target);
    process.stdout.write(cmd.help + '\n');
    return EXIT_OK;
  }
  if (name === '-v' || name === '--version') return version.run([]);
  const cmd = find(name);
  if (!cmd) return unknownCommand(name);
  try {
    return await cmd.run(rest);
  } catch (err) {
    return reportError(err);
  }
}

function unknownCommand(name: string): number {
  const guess = closest(name, COMMANDS.map((c) => c.name));
  process.stderr.write(
    `phpasync: unknown command '${name}'${guess ? ` (did you mean ${guess}?)` : ''}\nRun 'phpasync --help' for the list of commands.\n`,
  );
  return EXIT_CONFIG;
}

process.exitCode = await main(process.argv.slice(2));
