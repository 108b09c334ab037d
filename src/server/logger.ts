// The server's log, as Caddy users read it: on stderr, JSON lines with level names when stderr is
// not a terminal (files, journald, log shippers), pino-pretty's colored lines when it is.
import type { FastifyServerOptions } from 'fastify';

import { PhpasyncError } from './errors.js';

export interface LogSettings {
  debug: boolean;
  /** Pretty-print (default: stderr is a TTY). PHPASYNC_LOG_FORMAT=json|pretty overrides. */
  pretty?: boolean;
}

export function prettyWanted(env: NodeJS.ProcessEnv = process.env, tty = process.stderr.isTTY === true): boolean {
  const format = env.PHPASYNC_LOG_FORMAT;
  if (format === 'json') return false;
  if (format === 'pretty') return true;
  if (format !== undefined && format !== '') {
    throw new PhpasyncError('PHPASYNC_ENV_CHOICE', ['PHPASYNC_LOG_FORMAT', '"json" or "pretty"', format]);
  }
  return tty;
}

export function loggerOptions(settings: LogSettings): NonNullable<FastifyServerOptions['logger']> {
  const level = settings.debug ? 'debug' : 'info';
  if (settings.pretty ?? prettyWanted()) {
    return {
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    };
  }
  return {
    level,
    stream: process.stderr,
    formatters: { level: (label: string) => ({ level: label }) },
  };
}
