import path from 'node:path';
import type { LogConfig } from '../config/model.js';
import { ConfigError } from '../config/errors.js';
import { expandShorthands } from './placeholders.js';
import type { Token } from './token.js';
import type { Line } from './line.js';
import { eachSubdirective } from './line.js';

/** What every part of the adapter needs to know about the file being adapted. */
export interface AdaptContext {
  /** Absolute path of the main Caddyfile. */
  configFile: string;
  /** Relative paths are resolved against this (the Caddyfile's directory). */
  baseDir: string;
  warnings: string[];
}

/** An absolute path; a leading placeholder (resolved at runtime) is left as written. */
export function resolvePath(base: string, tok: Token): string {
  const text = expandShorthands(tok.text);
  if (text.startsWith('{')) return text;
  return path.resolve(base, text);
}

export function ensureNoPlaceholder(tok: Token, what: string): void {
  if (/\{[^}]*\}/.test(tok.text)) {
    throw new ConfigError(`${what} cannot contain a runtime placeholder: ${tok.text}`, tok.loc);
  }
}

const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** `log [name] { output …; format …; level … }` (site or global). */
export function parseLog(line: Line, ctx: AdaptContext, allowName: boolean): LogConfig {
  line.expectArgs(0, allowName ? 1 : 0, allowName ? 'log [<name>] { … }' : 'log { … }');
  // JSON unless `format console` is written (Caddy's choice when its output is not a terminal).
  const log: LogConfig = { output: { type: 'stderr' }, format: 'json', source: { ...line.loc } };
  if (line.args[0]) log.name = line.args[0].text;
  eachSubdirective(line.block, {
    owner: 'log',
    handlers: {
      output(l) {
        l.expectArgs(1, 2, 'output stdout|stderr|discard|file <path>');
        const kind = l.args[0]!.text;
        if (kind === 'file') {
          l.expectArgs(2, 2, 'output file <path>');
          eachSubdirective(l.block, { owner: 'output file', handlers: {}, unsupported: ['roll_size', 'roll_keep', 'roll_keep_for', 'roll_disabled', 'roll_local_time', 'roll_uncompressed', 'mode'] });
          log.output = { type: 'file', path: resolvePath(ctx.baseDir, l.args[1]!) };
        } else if (kind === 'stdout' || kind === 'stderr' || kind === 'discard') {
          l.expectArgs(1, 1, `output ${kind}`);
          log.output = { type: kind };
        } else {
          l.fail(`log output must be stdout, stderr, discard or file <path>, got '${kind}'`, l.args[0]!);
        }
      },
      format(l) {
        const f = l.single('format console|json');
        l.noBlock();
        if (f.text !== 'console' && f.text !== 'json') l.fail(`log format must be console or json, got '${f.text}'`, f);
        log.format = f.text === 'json' ? 'json' : 'console';
      },
      level(l) {
        const v = l.single('level DEBUG|INFO|WARN|ERROR');
        const up = v.text.toUpperCase();
        if (!(LEVELS as readonly string[]).includes(up)) l.fail(`log level must be one of ${LEVELS.join(', ')}, got '${v.text}'`, v);
        log.level = up as LogConfig['level'] & string;
      },
    },
    unsupported: ['include', 'exclude', 'sampling', 'hostnames', 'no_hostname'],
  });
  return log;
}
