// Reading one parsed line with precise errors: argument counts, integers, on/off values, and
// subdirective dispatch with "did you mean" and the list of allowed names.

import { ConfigError } from '../config/errors.js';
import type { SourceLocation } from '../config/model.js';
import type { Node } from './parser.js';
import { expandShorthands } from './placeholders.js';
import { closest } from './suggest.js';
import type { Token } from './token.js';
import { parseInteger } from './units.js';

export class Line {
  readonly node: Node;
  /** Arguments still to interpret (a directive's matcher token is taken off first). */
  args: Token[];
  /** The enclosing directive, for messages about subdirectives ("worker env: …"). */
  readonly owner: string | undefined;

  constructor(node: Node, owner?: string) {
    this.node = node;
    this.args = [...node.args];
    this.owner = owner;
  }

  get name(): string {
    return this.node.head.text;
  }

  /** How messages name this line: `num`, or `worker num` inside a worker block. */
  get label(): string {
    return this.owner ? `${this.owner} ${this.name}` : this.name;
  }

  get loc(): SourceLocation {
    return this.node.head.loc;
  }

  get block(): Node[] | undefined {
    return this.node.block;
  }

  fail(message: string, at: Token | SourceLocation = this.node.head): never {
    throw new ConfigError(message, 'loc' in at ? at.loc : at);
  }

  /** Throws unless the argument count is within [min, max]; `usage` is shown as Caddy's docs. */
  expectArgs(min: number, max: number, usage: string): void {
    const n = this.args.length;
    if (n < min) this.fail(`${this.label}: missing argument; usage: ${usage}`, this.args.at(-1) ?? this.node.head);
    if (n > max) this.fail(`${this.label}: too many arguments; usage: ${usage}`, this.args[max]!);
  }

  noBlock(usage?: string): void {
    if (this.node.block) {
      this.fail(`${this.label} takes no block${usage ? `; usage: ${usage}` : ''}`, this.node.open ?? this.node.head);
    }
  }

  /** The only argument (exactly one required). */
  single(usage: string): Token {
    this.expectArgs(1, 1, usage);
    return this.args[0]!;
  }

  /** Argument values, placeholders normalized. */
  values(): string[] {
    return this.args.map((t) => expandShorthands(t.text));
  }
}

export function intValue(tok: Token, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = parseInteger(tok.text);
  if (n === undefined || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in the range ${min}..${max}`;
    throw new ConfigError(`${what} must be an integer ${range}, got '${tok.text}'`, tok.loc);
  }
  return n;
}

/** `on|off`, `true|false`: the Caddyfile's booleans. */
export function boolValue(tok: Token, what: string): boolean {
  const t = tok.text.toLowerCase();
  if (t === 'on' || t === 'true') return true;
  if (t === 'off' || t === 'false') return false;
  throw new ConfigError(`${what} must be 'on' or 'off', got '${tok.text}'`, tok.loc);
}

export type SubHandler = (line: Line) => void;

export interface SubdirectiveSpec {
  /** The block's owner, for messages ("php_server", "worker"). */
  owner: string;
  handlers: Record<string, SubHandler>;
  /** Names Caddy/FrankenPHP accept that phpasync does not. */
  unsupported?: readonly string[];
  /** How the lines are called in messages (default "subdirective"). */
  noun?: string;
}

/** Dispatches each line of a block to its handler; unknown names get a suggestion and the list. */
export function eachSubdirective(block: Node[] | undefined, spec: SubdirectiveSpec): void {
  for (const node of block ?? []) {
    const line = new Line(node, spec.noun ? undefined : spec.owner);
    const handler = Object.hasOwn(spec.handlers, line.name) ? spec.handlers[line.name] : undefined;
    if (handler) {
      handler(line);
      continue;
    }
    // "php_server: subdirective 'x'" or, with a noun, "global option 'x'".
    const what = spec.noun ?? `${spec.owner}: subdirective`;
    if (spec.unsupported?.includes(line.name)) {
      line.fail(`${what} '${line.name}' is not supported by phpasync`);
    }
    const unknown = spec.noun ? `unrecognized ${spec.noun}` : `${spec.owner}: unrecognized subdirective`;
    line.fail(unknownName(unknown, line.name, Object.keys(spec.handlers)));
  }
}

/** "PREFIX 'name' (did you mean x?); allowed: a, b, c" */
export function unknownName(prefix: string, name: string, allowed: readonly string[]): string {
  const guess = closest(name, allowed);
  return `${prefix} '${name}'${guess ? ` (did you mean ${guess}?)` : ''}; allowed: ${allowed.join(', ')}`;
}
