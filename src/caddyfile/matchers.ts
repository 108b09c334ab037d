// Request matchers: the `*` and `/path` tokens written before a directive's arguments, and named
// matchers `@name { path … }` / `@name path …` defined in a site (or route/handle) block.

import { ConfigError } from '../config/errors.js';
import type { MatcherConfig } from '../config/model.js';
import { Line, unknownName } from './line.js';
import type { Node } from './parser.js';
import { expandShorthands } from './placeholders.js';
import { didYouMean } from './suggest.js';
import type { Token } from './token.js';

const MATCHER_KINDS = ['path', 'path_regexp', 'method', 'header', 'query', 'host', 'not'] as const;
/** Caddy matchers phpasync does not evaluate. */
const UNSUPPORTED_KINDS = [
  'expression',
  'file',
  'remote_ip',
  'client_ip',
  'protocol',
  'header_regexp',
  'vars',
  'vars_regexp',
];

export type MatcherScope = Map<string, MatcherConfig>;

/** Is this argument a matcher token? (Quoted words never are.) */
export function isMatcherToken(tok: Token): boolean {
  if (tok.quote !== 'none') return false;
  return tok.text === '*' || tok.text.startsWith('/') || tok.text.startsWith('@');
}

/** Turns a matcher token into its matcher; `*` gives undefined (every request). */
export function resolveMatcherToken(tok: Token, scope: MatcherScope): MatcherConfig | undefined {
  if (tok.text === '*') return undefined;
  if (tok.text.startsWith('/')) return { path: [tok.text], source: { ...tok.loc } };
  const name = tok.text.slice(1);
  const m = scope.get(name);
  if (!m) {
    const known = [...scope.keys()].map((k) => '@' + k);
    throw new ConfigError(
      `unknown matcher ${tok.text}${didYouMean(tok.text, known)}${known.length ? '' : '; no named matchers are defined in this site'}`,
      tok.loc,
    );
  }
  return m;
}

/** `@name …` lines of a block, parsed into `scope` (which already holds the outer ones). */
export function defineMatchers(block: Node[], scope: MatcherScope, defined: Map<string, Token>): void {
  for (const node of block) {
    const head = node.head;
    if (head.quote !== 'none' || !head.text.startsWith('@')) continue;
    const name = head.text.slice(1);
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new ConfigError(`invalid matcher name '${head.text}': use letters, digits, '_', '-' and '.'`, head.loc);
    }
    const prev = defined.get(name);
    if (prev) {
      throw new ConfigError(
        `matcher @${name} is already defined at ${prev.loc.file}:${prev.loc.line}:${prev.loc.column}`,
        head.loc,
      );
    }
    defined.set(name, head);
    const m = parseMatcherSet(node, name);
    scope.set(name, m);
  }
}

/** `@name path /x` (one line) or `@name { … }` (block) or both. */
function parseMatcherSet(node: Node, name: string | undefined): MatcherConfig {
  const m: MatcherConfig = { source: { ...node.head.loc } };
  if (name !== undefined) m.name = name;
  if (node.args.length > 0) {
    const [kind, ...args] = node.args;
    addMatcher(m, new Line({ head: kind!, args, ...(node.block ? { block: node.block, open: node.open! } : {}) }, 'matcher'));
  } else if (node.block) {
    if (node.block.length === 0) throw new ConfigError(`matcher ${node.head.text} is empty`, node.head.loc);
    for (const n of node.block) addMatcher(m, new Line(n, 'matcher'));
  } else {
    throw new ConfigError(`matcher ${node.head.text} needs a condition, as in: ${node.head.text} path /api/*`, node.head.loc);
  }
  return m;
}

function addMatcher(m: MatcherConfig, line: Line): void {
  const kind = line.name;
  if (kind !== 'not') line.noBlock();
  switch (kind) {
    case 'path': {
      line.expectArgs(1, Infinity, 'path <paths...>');
      for (const t of line.args) {
        if (t.text !== '*' && !t.text.startsWith('/') && !t.text.startsWith('*') && !t.text.startsWith('{')) {
          line.fail(`path matcher: '${t.text}' must start with '/' or '*'`, t);
        }
      }
      (m.path ??= []).push(...line.values());
      return;
    }
    case 'path_regexp': {
      line.expectArgs(1, 2, 'path_regexp [<name>] <regexp>');
      if (m.pathRegexp) line.fail('path_regexp can be used once per matcher');
      const [a, b] = line.args;
      const pat = b ?? a!;
      m.pathRegexp = { ...toJsRegExp(pat), ...(b ? { name: a!.text } : m.name ? { name: m.name } : {}) };
      return;
    }
    case 'method': {
      line.expectArgs(1, Infinity, 'method <verbs...>');
      for (const t of line.args) {
        if (!/^[A-Za-z]+$/.test(t.text)) line.fail(`method matcher: '${t.text}' is not an HTTP method`, t);
      }
      (m.method ??= []).push(...line.args.map((t) => t.text.toUpperCase()));
      return;
    }
    case 'header': {
      line.expectArgs(1, Infinity, 'header <field> [<value>...] | header !<field>');
      const [field, ...values] = line.args;
      if (field!.text.startsWith('!')) {
        if (values.length > 0) line.fail('header matcher: !<field> (absent) takes no value', values[0]!);
        if (field!.text.length === 1) line.fail('header matcher: missing field name after !', field!);
        (m.headerAbsent ??= []).push(field!.text.slice(1));
        return;
      }
      if (values.length === 0) line.fail('header matcher: missing value; usage: header <field> <value>, or header !<field> for absence');
      const h = (m.header ??= {});
      (h[field!.text] ??= []).push(...values.map((t) => expandShorthands(t.text)));
      return;
    }
    case 'query': {
      line.expectArgs(1, Infinity, 'query <key>=<value>...');
      const q = (m.query ??= {});
      for (const t of line.args) {
        const eq = t.text.indexOf('=');
        if (eq <= 0) line.fail(`query matcher: '${t.text}' must be written key=value (value may be *)`, t);
        (q[t.text.slice(0, eq)] ??= []).push(t.text.slice(eq + 1));
      }
      return;
    }
    case 'host': {
      line.expectArgs(1, Infinity, 'host <hosts...>');
      (m.host ??= []).push(...line.args.map((t) => t.text.toLowerCase()));
      return;
    }
    case 'not': {
      const inner = parseMatcherSet(line.node, undefined);
      delete inner.name;
      (m.not ??= []).push(inner);
      return;
    }
    default:
      if (UNSUPPORTED_KINDS.includes(kind)) line.fail(`matcher '${kind}' is not supported by phpasync`);
      line.fail(unknownName('unrecognized matcher', kind, MATCHER_KINDS));
  }
}

/** RE2 (Caddy) and JavaScript differ in a few spellings; translate those, reject the rest. */
function toJsRegExp(tok: Token): { pattern: string; flags: string } {
  let pattern = tok.text;
  let flags = '';
  const inline = /^\(\?([imsU]+)\)/.exec(pattern);
  if (inline) {
    for (const f of inline[1]!) {
      if (f === 'U') throw new ConfigError('path_regexp: the (?U) flag has no JavaScript equivalent', tok.loc);
      if (!flags.includes(f)) flags += f;
    }
    pattern = pattern.slice(inline[0].length);
  }
  pattern = pattern.replace(/\(\?P</g, '(?<');
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    throw new ConfigError(`path_regexp: invalid regular expression: ${regexpReason(err)}`, tok.loc);
  }
  return { pattern, flags };
}

/** The single path of a matcher when that is all it tests (for Caddy's specificity order). */
export function singlePath(m: MatcherConfig | undefined): string | undefined {
  if (!m || !m.path || m.path.length !== 1) return undefined;
  const others = m.pathRegexp || m.method || m.header || m.headerAbsent || m.query || m.host || m.not;
  return others ? undefined : m.path[0];
}

/** V8 repeats the pattern in its message; keep only the reason. */
export function regexpReason(err: unknown): string {
  return (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
}
