// Snippets `(name) { … }` and `import NAME|FILE|GLOB [args…]`, resolved on parsed lines.
// An import line is replaced by the snippet's (or file's) lines, with {args[i]} filled in.

import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/errors.js';
import { tokenize, type LexOptions } from './lexer.js';
import { isGlobalBlock, isSnippetDef, parseNodes, type Node } from './parser.js';
import { didYouMean } from './suggest.js';
import { cloneToken, isBare, type Token } from './token.js';

interface Snippet {
  name: string;
  body: Node[];
  def: Token;
}

export interface LoadContext {
  lex: LexOptions;
  snippets: Map<string, Snippet>;
  /** Import chain, for cycle detection: `snippet NAME` or an absolute file path. */
  stack: string[];
  warnings: string[];
}

const MAX_DEPTH = 64;

/** Parses a Caddyfile's text and resolves every snippet and import in it. */
export function loadNodes(text: string, file: string, lex: LexOptions, warnings: string[]): Node[] {
  const ctx: LoadContext = { lex, snippets: new Map(), stack: [file], warnings };
  const top = parseNodes(tokenize(text, file, lex), { topLevel: true, allowBracelessSite: true });
  // Snippets are registered in written order at the top level (files imported there included),
  // then blocks are expanded with every snippet known.
  const kept = expandTop(top, ctx);
  return kept.map((n) => (n.block ? { ...n, block: expandInner(n.block, ctx) } : n));
}

function expandTop(nodes: Node[], ctx: LoadContext): Node[] {
  const out: Node[] = [];
  for (const node of nodes) {
    if (isSnippetDef(node)) {
      defineSnippet(node, ctx);
    } else if (isNamedRoute(node)) {
      throw new ConfigError(`named routes (${node.head.text}) are not supported`, node.head.loc);
    } else if (isBare(node.head, 'import')) {
      out.push(...importLines(node, ctx, true));
    } else {
      out.push(node);
    }
  }
  return out;
}

function expandInner(nodes: Node[], ctx: LoadContext): Node[] {
  const out: Node[] = [];
  for (const node of nodes) {
    if (isBare(node.head, 'import')) {
      out.push(...importLines(node, ctx, false));
      continue;
    }
    if (isSnippetDef(node) && node.block) {
      throw new ConfigError(`snippet ${node.head.text} must be defined at the top level of the file`, node.head.loc);
    }
    out.push(node.block ? { ...node, block: expandInner(node.block, ctx) } : node);
  }
  return out;
}

function isNamedRoute(node: Node): boolean {
  return node.head.quote === 'none' && node.head.text.startsWith('&(') && node.head.text.endsWith(')');
}

function defineSnippet(node: Node, ctx: LoadContext): void {
  const name = node.head.text.slice(1, -1);
  if (!node.block) {
    throw new ConfigError(`snippet (${name}) needs a block: (${name}) { … }`, node.head.loc);
  }
  if (node.args.length > 0) {
    throw new ConfigError(`unexpected '${node.args[0]!.text}' after snippet name (${name})`, node.args[0]!.loc);
  }
  const prev = ctx.snippets.get(name);
  if (prev) {
    const p = prev.def.loc;
    throw new ConfigError(`snippet (${name}) is already defined at ${p.file}:${p.line}:${p.column}`, node.head.loc);
  }
  ctx.snippets.set(name, { name, body: node.block, def: node.head });
}

function importLines(node: Node, ctx: LoadContext, topLevel: boolean): Node[] {
  const what = node.args[0];
  if (!what) throw new ConfigError('import needs a snippet name or a file path', node.head.loc);
  if (node.block) {
    throw new ConfigError('import with a block ({block} arguments) is not supported', node.open?.loc ?? node.head.loc);
  }
  const args = node.args.slice(1);
  if (ctx.stack.length > MAX_DEPTH) {
    throw new ConfigError(`imports nested deeper than ${MAX_DEPTH} levels`, what.loc);
  }

  const snippet = ctx.snippets.get(what.text);
  if (snippet) {
    const key = `snippet ${snippet.name}`;
    checkCycle(key, what, ctx);
    const body = substituteAll(snippet.body, args, what);
    ctx.stack.push(key);
    try {
      return topLevel ? expandTop(body, ctx) : expandInner(body, ctx);
    } finally {
      ctx.stack.pop();
    }
  }

  const base = path.dirname(what.loc.file);
  const pattern = path.resolve(base, what.text);
  const files = hasGlob(what.text) ? globFiles(pattern, what, ctx) : [pattern];
  if (!hasGlob(what.text) && !isFile(pattern)) {
    throw new ConfigError(
      `import: no snippet named '${what.text}' and no file ${pattern}${didYouMean(what.text, ctx.snippets.keys())}`,
      what.loc,
    );
  }
  const out: Node[] = [];
  for (const file of files) {
    checkCycle(file, what, ctx);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`import: cannot read ${file}: ${(err as Error).message}`, what.loc);
    }
    const nodes = parseNodes(tokenize(text, file, ctx.lex), { topLevel });
    const filled = args.length > 0 ? substituteAll(nodes, args, what) : nodes;
    ctx.stack.push(file);
    try {
      out.push(...(topLevel ? expandTop(filled, ctx) : expandInner(filled, ctx)));
    } finally {
      ctx.stack.pop();
    }
  }
  if (!topLevel) {
    for (const n of out) {
      if (isGlobalBlock(n)) throw new ConfigError('a global options block cannot be imported into a block', n.head.loc);
    }
  }
  return out;
}

function checkCycle(key: string, at: Token, ctx: LoadContext): void {
  if (ctx.stack.includes(key)) {
    const chain = [...ctx.stack.slice(ctx.stack.indexOf(key)), key].join(' -> ');
    throw new ConfigError(`import cycle: ${chain}`, at.loc);
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function hasGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/** Wildcards in the file name only (as Caddy); hidden files only when the pattern asks. */
function globFiles(pattern: string, at: Token, ctx: LoadContext): string[] {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (hasGlob(dir)) {
    throw new ConfigError(`import: wildcards are allowed in the file name only, not in ${dir}`, at.loc);
  }
  const re = globToRegExp(base);
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    entries = [];
  }
  const files = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && re.test(e.name))
    .filter((e) => base.startsWith('.') || !e.name.startsWith('.'))
    .map((e) => path.join(dir, e.name))
    .filter(isFile)
    .sort();
  if (files.length === 0) {
    ctx.warnings.push(`${at.loc.file}:${at.loc.line}:${at.loc.column}: import: no file matches ${pattern}`);
  }
  return files;
}

function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += '[' + cls.replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

// --- {args[…]} -------------------------------------------------------------------------------

const ARG_PLACEHOLDER = /\{args(?:\[(\d*)(:?)(\d*)\]|\.(\d+))\}/g;

function substituteAll(nodes: Node[], args: Token[], at: Token): Node[] {
  return nodes.map((n) => substituteNode(n, args, at));
}

function substituteNode(node: Node, args: Token[], at: Token): Node {
  const head = substituteToken(node.head, args, at);
  if (head.length !== 1) {
    throw new ConfigError(`{args} placeholder in a directive name must give exactly one word`, node.head.loc);
  }
  const out: Node = {
    head: head[0]!,
    args: node.args.flatMap((t) => substituteToken(t, args, at)),
  };
  if (node.open) out.open = node.open;
  if (node.block) out.block = substituteAll(node.block, args, at);
  return out;
}

function substituteToken(tok: Token, args: Token[], at: Token): Token[] {
  if (!tok.text.includes('{args')) return [tok];
  const whole = /^\{args\[(\d*):(\d*)\]\}$/.exec(tok.text);
  if (whole && tok.quote === 'none') {
    return pick(whole[1]!, whole[2]!, args, tok, at).map((a, i) =>
      cloneToken(tok, { text: a.text, quote: a.quote, lineStart: i === 0 ? tok.lineStart : false }),
    );
  }
  const text = tok.text.replace(ARG_PLACEHOLDER, (_m, idx: string, colon: string, end: string, dot: string) => {
    if (dot !== undefined) return one(dot, args, tok, at);
    if (colon) return pick(idx, end, args, tok, at).map((a) => a.text).join(' ');
    return one(idx, args, tok, at);
  });
  return [cloneToken(tok, { text })];
}

function one(idx: string, args: Token[], tok: Token, at: Token): string {
  const i = Number(idx);
  if (idx === '' || !Number.isInteger(i)) throw new ConfigError(`malformed import argument placeholder: ${tok.text}`, tok.loc);
  const a = args[i];
  if (!a) {
    throw new ConfigError(
      `import argument {args[${i}]} is not given: ${args.length} argument${args.length === 1 ? '' : 's'} passed at ${at.loc.file}:${at.loc.line}:${at.loc.column}`,
      tok.loc,
    );
  }
  return a.text;
}

function pick(start: string, end: string, args: Token[], tok: Token, at: Token): Token[] {
  const s = start === '' ? 0 : Number(start);
  const e = end === '' ? args.length : Number(end);
  if (s > e || e > args.length) {
    throw new ConfigError(
      `import argument slice ${tok.text} is out of range: ${args.length} argument${args.length === 1 ? '' : 's'} passed at ${at.loc.file}:${at.loc.line}:${at.loc.column}`,
      tok.loc,
    );
  }
  return args.slice(s, e);
}
