// Caddy runs a site's directives in a fixed order, not in written order (`route` keeps the
// written order of its body). Same-named directives are ordered by matcher specificity.

import type { DirectiveConfig } from '../config/model.js';
import { unknownName, type Line } from './line.js';
import { singlePath } from './matchers.js';

/** Caddy's default order restricted to the handlers phpasync knows (php, php_server: FrankenPHP). */
const DEFAULT_ORDER = [
  'root',
  'header',
  'request_body',
  'redir',
  'rewrite',
  'uri',
  'encode',
  'handle',
  'handle_path',
  'route',
  'respond',
  'reverse_proxy',
  'php',
  'php_server',
  'file_server',
];

/** Directives that are mutually exclusive among siblings (only the first match runs). */
const EXCLUSIVE = new Set(['rewrite', 'handle', 'root']);

/** handle_path is a handle that strips a prefix: it sorts and groups as one. */
function sortName(name: string): string {
  return name === 'handle_path' ? 'handle' : name;
}

export class DirectiveOrder {
  private order = [...DEFAULT_ORDER];

  /** `order <dir> first|last|before <x>|after <x>` from the global options. */
  apply(line: Line): void {
    const [dirTok, posTok, otherTok] = line.args;
    const dir = dirTok!.text;
    if (!this.order.includes(dir)) line.fail(unknownName('order: unrecognized directive', dir, DEFAULT_ORDER), dirTok!);
    const pos = posTok!.text;
    const rest = this.order.filter((d) => d !== dir);
    if (pos === 'first' || pos === 'last') {
      line.expectArgs(2, 2, `order ${dir} ${pos}`);
      this.order = pos === 'first' ? [dir, ...rest] : [...rest, dir];
      return;
    }
    if (pos !== 'before' && pos !== 'after') {
      line.fail(`order: position must be first, last, before or after, got '${pos}'`, posTok!);
    }
    line.expectArgs(3, 3, `order ${dir} ${pos} <directive>`);
    const other = otherTok!.text;
    if (other === dir) line.fail(`order: ${dir} cannot be ordered relative to itself`, otherTok!);
    const at = rest.indexOf(other);
    if (at === -1) line.fail(unknownName('order: unrecognized directive', other, DEFAULT_ORDER), otherTok!);
    rest.splice(pos === 'before' ? at : at + 1, 0, dir);
    this.order = rest;
  }

  position(name: string): number {
    const i = this.order.indexOf(sortName(name));
    return i === -1 ? this.order.length : i;
  }

  /** Caddy's sort: by directive position, then the longest single path first, then matcher before none. */
  sort(dirs: DirectiveConfig[]): DirectiveConfig[] {
    return dirs
      .map((d, i) => ({ d, i }))
      .sort((a, b) => this.compare(a.d, b.d) || a.i - b.i)
      .map((x) => x.d);
  }

  private compare(a: DirectiveConfig, b: DirectiveConfig): number {
    const pa = this.position(a.name);
    const pb = this.position(b.name);
    if (pa !== pb) return pa - pb;
    const ap = singlePath(a.match);
    const bp = singlePath(b.match);
    if (ap === undefined && bp === undefined) {
      // Only a matcher against none: the matched one first; otherwise written order.
      return (a.match ? 0 : 1) - (b.match ? 0 : 1);
    }
    const al = ap?.length ?? 0;
    const bl = bp?.length ?? 0;
    // /foo before /foo*: the exact path is the more specific.
    if (ap !== undefined && bp !== undefined && ap.replace(/\*$/, '') === bp.replace(/\*$/, '')) return al - bl;
    return bl - al;
  }
}

/** Marks mutually exclusive siblings with a group (only when there are several of a kind). */
export function assignGroups(dirs: DirectiveConfig[]): void {
  const counts = new Map<string, number>();
  for (const d of dirs) {
    const n = sortName(d.name);
    if (EXCLUSIVE.has(n)) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  for (const d of dirs) {
    const n = sortName(d.name);
    if ((counts.get(n) ?? 0) > 1) d.group = n;
  }
}
