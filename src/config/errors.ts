// A configuration the adapter cannot read or the runtime cannot run: an error of the table in
// src/server/errors.ts (PHPASYNC_CONFIG unless a narrower code fits) that knows where it is.

import { errorMessage, PhpasyncError } from '../server/errors.js';
import type { SourceLocation } from './model.js';

export type ConfigErrorCode = 'PHPASYNC_CONFIG' | 'PHPASYNC_NOT_SUPPORTED' | 'PHPASYNC_NO_ASYNC_WORKER';

/**
 * `message` carries the location prefix (`FILE:LINE:COL: detail`) so that printing the error
 * is always enough; `detail` and `location` stay separate for callers that format the path
 * themselves.
 */
export class ConfigError extends PhpasyncError {
  override name = 'ConfigError';
  readonly location?: SourceLocation;
  readonly detail: string;

  /** `detail` fills the code's text (PHPASYNC_CONFIG's is the detail itself). */
  constructor(detail: string, location?: SourceLocation, code: ConfigErrorCode = 'PHPASYNC_CONFIG') {
    super(code, [detail], location ? { at: formatLocation(location) } : {});
    this.detail = errorMessage(code, detail);
    if (location) this.location = location;
  }
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
