// Caddyfile structure: tokens → lines (nodes). A node is one logical line: a head token (the
// directive, option, address or snippet name), its arguments, and the block it opens, if any.
// Meaning (which names exist, what arguments are allowed) is the adapter's job.

import { ConfigError } from '../config/errors.js';
import type { SourceLocation } from '../config/model.js';
import { isBare, type Token } from './token.js';

export interface Node {
  head: Token;
  args: Token[];
  /** The lines between `{` and `}`; absent when the line opens no block. */
  block?: Node[];
  /** The `{` that opened the block (for locating "empty block" and similar errors). */
  open?: Token;
}

export function nodeLoc(node: Node): SourceLocation {
  return node.head.loc;
}

/** All tokens of the line: head first. */
export function lineTokens(node: Node): Token[] {
  return [node.head, ...node.args];
}

interface Cursor {
  toks: Token[];
  i: number;
}

export interface ParseOptions {
  /**
   * Top level of a Caddyfile: site address lists may continue on the next line after a trailing
   * comma, and a file whose first site line opens no block is one site whose body is the rest.
   */
  topLevel: boolean;
  /** Only for the main file: allow the single site without braces. */
  allowBracelessSite?: boolean;
}

export function parseNodes(toks: Token[], opts: ParseOptions): Node[] {
  const cur: Cursor = { toks, i: 0 };
  const nodes = parseLines(cur, opts.topLevel, undefined);
  if (opts.topLevel && opts.allowBracelessSite) return bracelessSite(nodes);
  return nodes;
}

/**
 * `:8080` on the first line and directives below it, without braces, is one site (Caddy allows
 * it when the file has a single site).
 */
function bracelessSite(nodes: Node[]): Node[] {
  const first = nodes.findIndex((n) => !(isGlobalBlock(n) || isSnippetDef(n) || isBare(n.head, 'import')));
  if (first === -1) return nodes;
  const site = nodes[first]!;
  if (site.block) return nodes;
  const rest = nodes.slice(first + 1);
  return [...nodes.slice(0, first), { ...site, block: rest, open: site.head }];
}

export function isGlobalBlock(node: Node): boolean {
  return isBare(node.head, '{') || isBare(node.head, '{}');
}

export function isSnippetDef(node: Node): boolean {
  const t = node.head;
  return t.quote === 'none' && t.text.length > 2 && t.text.startsWith('(') && t.text.endsWith(')');
}

function parseLines(cur: Cursor, topLevel: boolean, opener: Token | undefined): Node[] {
  const nodes: Node[] = [];
  for (;;) {
    const tok = cur.toks[cur.i];
    if (!tok) {
      if (opener) throw new ConfigError("unclosed block: missing '}' for this '{'", opener.loc);
      return nodes;
    }
    if (isBare(tok, '}')) {
      if (!opener) throw new ConfigError("unexpected '}': no block is open here", tok.loc);
      cur.i++;
      const after = cur.toks[cur.i];
      if (after && !after.lineStart) {
        throw new ConfigError(`unexpected '${after.text}' after '}': put it on its own line`, after.loc);
      }
      return nodes;
    }
    nodes.push(parseLine(cur, topLevel));
  }
}

function parseLine(cur: Cursor, topLevel: boolean): Node {
  const line: Token[] = [];
  const first = cur.toks[cur.i]!;
  // A global options block is written as a `{` alone at the start of the file.
  if (topLevel && (isBare(first, '{') || isBare(first, '{}'))) {
    cur.i++;
    return finishBlock(cur, first, [first]);
  }
  for (;;) {
    const tok = cur.toks[cur.i];
    const continues =
      tok !== undefined &&
      (!tok.lineStart ||
        line.length === 0 ||
        // Site addresses: `a.com,` at the end of a line continues the list on the next.
        (topLevel && line.at(-1)!.quote === 'none' && line.at(-1)!.text.endsWith(',')));
    if (!continues) break;
    if (isBare(tok, '{') || isBare(tok, '{}')) {
      if (line.length === 0) {
        throw new ConfigError(`unexpected '${tok.text}': a block opens at the end of a named line`, tok.loc);
      }
      cur.i++;
      return finishBlock(cur, tok, line);
    }
    if (isBare(tok, '}')) {
      if (line.length === 0) break;
      throw new ConfigError("unexpected '}': a block closes on its own line", tok.loc);
    }
    line.push(tok);
    cur.i++;
  }
  const [head, ...args] = line;
  return { head: head!, args };
}

/** After a `{` (or `{}`): the rest of the line must be empty, then the block's lines. */
function finishBlock(cur: Cursor, open: Token, line: Token[]): Node {
  const [head, ...args] = line;
  const isGlobal = line.length === 1 && line[0] === open;
  const node: Node = isGlobal ? { head: open, args: [], open } : { head: head!, args, open };
  if (open.text === '{}') {
    node.block = [];
  } else {
    const next = cur.toks[cur.i];
    if (next && !next.lineStart) {
      throw new ConfigError(
        `unexpected '${next.text}' after '{': a block's contents start on the next line`,
        next.loc,
      );
    }
    node.block = parseLines(cur, false, open);
  }
  const after = cur.toks[cur.i];
  if (open.text === '{}' && after && !after.lineStart) {
    throw new ConfigError(`unexpected '${after.text}' after '{}': put it on its own line`, after.loc);
  }
  return node;
}
