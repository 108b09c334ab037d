// Flag parsing on top of node:util's parseArgs, with errors that name the command.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './report.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export function parseFlags(command: string, argv: string[], options: Options, allowPositionals = false): Parsed {
  try {
    const r = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${command}: ${msg}\nRun 'phpasync ${command} --help' for usage.`);
  }
}

export function str(p: Parsed, key: string): string | undefined {
  const v = p.values[key];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, key: string): boolean {
  return p.values[key] === true;
}

/** A flag given several times (`multiple: true`). */
export function list(p: Parsed, key: string): string[] {
  const v = p.values[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
