import type { SourceLocation } from './model.js';

/**
 * A configuration the adapter cannot read or the runtime cannot run. `message` carries the
 * location prefix (`FILE:LINE:COL: detail`) so that printing the error is always enough;
 * `detail` and `location` stay separate for callers that format the path themselves.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly location?: SourceLocation;
  readonly detail: string;

  constructor(detail: string, location?: SourceLocation) {
    super(location ? `${formatLocation(location)}: ${detail}` : detail);
    this.detail = detail;
    if (location) this.location = location;
  }
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
