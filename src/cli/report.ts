// How the CLI talks about failures: config errors (exit 2) with FILE:LINE:COL made relative to
// the working directory when that is shorter, runtime failures (exit 1) with their message.

import path from 'node:path';
import { ConfigError } from '../config/errors.js';
import { PhpasyncError } from '../server/errors.js';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_CONFIG = 2;

/** Wrong flags or arguments: reported like a config error (exit 2) with the command's usage. */
export class UsageError extends PhpasyncError {
  override name = 'UsageError';
  constructor(message: string) {
    super('PHPASYNC_USAGE', [message]);
  }
}

export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function formatConfigError(err: ConfigError, cwd = process.cwd()): string {
  if (!err.location) return err.message;
  const { file, line, column } = err.location;
  return `${displayPath(file, cwd)}:${line}:${column}: ${err.detail}`;
}

export function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
}

/** Prints any error and returns the exit code its table entry gives (src/server/errors.ts). */
export function reportError(err: unknown): number {
  const exit = err instanceof PhpasyncError ? (err.exitCode ?? EXIT_RUNTIME) : EXIT_RUNTIME;
  if (err instanceof ConfigError) {
    process.stderr.write(`${formatConfigError(err)}\n`);
    return exit;
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (process.env['PHPASYNC_DEBUG'] && !(err instanceof UsageError) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  process.stderr.write(`phpasync: ${msg}\n`);
  return exit;
}
