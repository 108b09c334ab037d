// Caddyfile text from a small tree of directives: the one writer behind `php-server` (its flags
// become a Caddyfile adapted like any file) and the bench (the Caddyfile its phpasync runs).
// Every argument is quoted so that the lexer reads it back unchanged.

import { PhpasyncError } from '../server/errors.js';

/** One line of a Caddyfile: a directive, its arguments, and its block if it has one. */
export interface CaddyDirective {
  name: string;
  args?: string[];
  block?: CaddyDirective[];
}

export interface CaddySite {
  address: string;
  directives: CaddyDirective[];
}

/** A word the lexer reads back unchanged. Throws on `{$`, which a Caddyfile reads as an
 * environment variable whatever the quoting. */
export function quoteToken(s: string): string {
  if (s.includes('{$')) throw new PhpasyncError('PHPASYNC_UNQUOTABLE', [s]);
  if (s !== '' && /^[^\s"`#{}\\<]+$/.test(s)) return s;
  if (!s.includes('`')) return '`' + s + '`';
  return '"' + s.replace(/"/g, '\\"') + '"';
}

function lines(ds: CaddyDirective[], depth: number, out: string[]): void {
  const indent = '\t'.repeat(depth);
  for (const d of ds) {
    const head = [d.name, ...(d.args ?? []).map(quoteToken)].join(' ');
    if (d.block === undefined) {
      out.push(indent + head);
      continue;
    }
    out.push(`${indent}${head} {`);
    lines(d.block, depth + 1, out);
    out.push(`${indent}}`);
  }
}

/** The global options block (omitted when empty), then the sites. */
export function writeCaddyfile(global: CaddyDirective[], sites: CaddySite[]): string {
  const out: string[] = [];
  if (global.length > 0) {
    out.push('{');
    lines(global, 1, out);
    out.push('}', '');
  }
  for (const site of sites) {
    out.push(`${quoteToken(site.address)} {`);
    lines(site.directives, 1, out);
    out.push('}', '');
  }
  return out.join('\n');
}

/** An async worker as `php-server` and the bench declare it. */
export interface AsyncWorkerSpec {
  file: string;
  num?: number;
  /** Run in TrueAsync mode; off, a classic worker (a loop on frankenphp_handle_request()). */
  async: boolean;
  bufferSize?: number;
  /** `match *`: the worker answers every request itself, as in the TrueAsync guide. */
  matchAll?: boolean;
  /** `watch`; a string is its pattern. */
  watch?: boolean | string;
}

/** The global `frankenphp` block with `php_ini` lines and workers. */
export function frankenphpBlock(workers: AsyncWorkerSpec[], phpIni: Record<string, string> = {}): CaddyDirective {
  const block: CaddyDirective[] = Object.entries(phpIni).map(([k, v]) => ({ name: 'php_ini', args: [k, v] }));
  for (const w of workers) {
    const body: CaddyDirective[] = [{ name: 'file', args: [w.file] }];
    if (w.num !== undefined) body.push({ name: 'num', args: [String(w.num)] });
    if (w.async) body.push({ name: 'async' });
    if (w.bufferSize !== undefined) body.push({ name: 'buffer_size', args: [String(w.bufferSize)] });
    if (w.matchAll) body.push({ name: 'match', args: ['*'] });
    if (w.watch) body.push({ name: 'watch', ...(typeof w.watch === 'string' ? { args: [w.watch] } : {}) });
    block.push({ name: 'worker', block: body });
  }
  return { name: 'frankenphp', block };
}
