// Caddyfile lexer: text → tokens. Whitespace separates tokens; line breaks matter (one
// directive per line), so each token records whether it starts a logical line.
//
// {$ENV} / {$ENV:default} are replaced before tokenizing, as Caddy documents, so a value may
// expand to several tokens. Characters that came from a substitution report the location of
// the placeholder, so errors still point at the file as written.

import { ConfigError } from '../config/errors.js';
import type { SourceLocation } from '../config/model.js';
import type { Token, TokenQuote } from './token.js';

export interface LexOptions {
  /** Environment for {$VAR}; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

/** One input character with the place it was written. */
interface Ch {
  c: string;
  line: number;
  col: number;
}

const HEREDOC_MARKER = /^[A-Za-z0-9_-]+$/;
const ENV_NAME = /^[^\s{}:$]+$/;

/** Expands {$VAR} and {$VAR:default}; anything else (runtime placeholders) is left alone. */
function expandEnv(src: string, env: Record<string, string | undefined>): Ch[] {
  const out: Ch[] = [];
  let line = 1;
  let col = 1;
  let i = 0;
  // A byte order mark is not content.
  if (src.charCodeAt(0) === 0xfeff) i = 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '{' && src[i + 1] === '$') {
      const end = src.indexOf('}', i + 2);
      const nl = src.indexOf('\n', i + 2);
      if (end !== -1 && (nl === -1 || end < nl)) {
        const inner = src.slice(i + 2, end);
        const colon = inner.indexOf(':');
        const name = colon === -1 ? inner : inner.slice(0, colon);
        if (ENV_NAME.test(name)) {
          const fallback = colon === -1 ? '' : inner.slice(colon + 1);
          // As in Caddy: the default is for an unset variable; a set, empty one stays empty.
          const text = env[name] ?? fallback;
          for (const ch of text) out.push({ c: ch, line, col });
          col += end + 1 - i;
          i = end + 1;
          continue;
        }
      }
    }
    out.push({ c, line, col });
    if (c === '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
    i++;
  }
  return out;
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v';
}

export function tokenize(src: string, file: string, opts: LexOptions = {}): Token[] {
  const chars = expandEnv(src, opts.env ?? process.env);
  const tokens: Token[] = [];
  let i = 0;
  let lineStart = true;

  const at = (k: number): string | undefined => chars[k]?.c;
  const loc = (ch: Ch): SourceLocation => ({ file, line: ch.line, column: ch.col });
  const fail = (ch: Ch, msg: string): never => {
    throw new ConfigError(msg, loc(ch));
  };
  const push = (text: string, quote: TokenQuote, start: Ch): void => {
    tokens.push({ text, quote, lineStart, loc: loc(start) });
    lineStart = false;
  };
  /** `\` + optional CR + LF: a line continuation. Returns its length, or 0. */
  const continuation = (k: number): number => {
    if (at(k) !== '\\') return 0;
    if (at(k + 1) === '\n') return 2;
    if (at(k + 1) === '\r' && at(k + 2) === '\n') return 3;
    return 0;
  };

  while (i < chars.length) {
    const ch = chars[i]!;
    const c = ch.c;
    if (c === '\n') {
      lineStart = true;
      i++;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    const cont = continuation(i);
    if (cont) {
      i += cont;
      continue;
    }
    if (c === '#') {
      while (i < chars.length && at(i) !== '\n') i++;
      continue;
    }
    if (c === '"') {
      // Only \" is an escape inside double quotes; other backslashes stay (regexes, Windows paths).
      let text = '';
      let k = i + 1;
      for (;;) {
        const d = at(k);
        if (d === undefined) fail(ch, 'unterminated quoted string: missing closing "');
        if (d === '\\' && at(k + 1) === '"') {
          text += '"';
          k += 2;
          continue;
        }
        if (d === '"') break;
        if (d !== '\r') text += d;
        k++;
      }
      push(text, 'double', ch);
      i = k + 1;
      continue;
    }
    if (c === '`') {
      let text = '';
      let k = i + 1;
      for (;;) {
        const d = at(k);
        if (d === undefined) fail(ch, 'unterminated backtick string: missing closing `');
        if (d === '`') break;
        if (d !== '\r') text += d;
        k++;
      }
      push(text, 'backtick', ch);
      i = k + 1;
      continue;
    }

    // A bare word runs to the next whitespace.
    let k = i;
    let word = '';
    while (k < chars.length) {
      const d = at(k)!;
      if (d === '\n' || isSpace(d) || continuation(k)) break;
      word += d;
      k++;
    }

    if (word.startsWith('<<') && (at(k) === '\n' || (at(k) === '\r' && at(k + 1) === '\n') || k >= chars.length)) {
      const heredoc = readHeredoc(chars, k, word.slice(2), ch, fail);
      push(heredoc.text, 'heredoc', ch);
      i = heredoc.next;
      continue;
    }
    // `\<<EOF` writes a literal `<<EOF`.
    if (word.startsWith('\\<<')) word = word.slice(1);
    push(word, 'none', ch);
    i = k;
  }
  return tokens;
}

/**
 * Reads a heredoc body starting at the line break after `<<MARKER`. The closing marker's
 * indentation is removed from every line, so the body can be indented with the config.
 * Returns the text and the index just after the closing marker (tokens may follow it).
 */
function readHeredoc(
  chars: Ch[],
  k: number,
  marker: string,
  start: Ch,
  fail: (ch: Ch, msg: string) => never,
): { text: string; next: number } {
  if (marker === '') fail(start, 'heredoc needs a marker: write <<MARKER (letters, digits, - and _)');
  if (marker.startsWith('<')) fail(start, `too many '<' in heredoc <<${marker}: use two, as in <<EOF`);
  if (!HEREDOC_MARKER.test(marker)) {
    fail(start, `heredoc marker may contain only letters, digits, - and _; got '${marker}'`);
  }
  // Split the rest of the input into lines, keeping each line's first character for errors.
  const lines: { text: string; first: Ch | undefined; startIdx: number }[] = [];
  let idx = k;
  while (idx < chars.length && chars[idx]!.c !== '\n') idx++;
  idx++; // past the line break after the marker
  while (idx <= chars.length) {
    let text = '';
    const startIdx = idx;
    while (idx < chars.length && chars[idx]!.c !== '\n') {
      if (chars[idx]!.c !== '\r') text += chars[idx]!.c;
      idx++;
    }
    lines.push({ text, first: chars[startIdx], startIdx });
    const trimmed = text.replace(/^[ \t]+/, '');
    if (trimmed === marker || trimmed.startsWith(marker + ' ') || trimmed.startsWith(marker + '\t')) {
      const indent = text.slice(0, text.length - trimmed.length);
      const body: string[] = [];
      for (const l of lines.slice(0, -1)) {
        if (l.text.trim() === '') {
          body.push('');
          continue;
        }
        if (!l.text.startsWith(indent)) {
          fail(
            l.first ?? start,
            `heredoc <<${marker}: this line does not start with the closing marker's indentation (${describeIndent(indent)})`,
          );
        }
        body.push(l.text.slice(indent.length));
      }
      // Position right after the marker on the closing line.
      let after = startIdx;
      let seen = 0;
      const want = indent.length + marker.length;
      while (seen < want) {
        if (chars[after]!.c !== '\r') seen++;
        after++;
      }
      return { text: body.join('\n'), next: after };
    }
    if (idx >= chars.length) break;
    idx++;
  }
  return fail(start, `heredoc <<${marker} is never closed: expected a line with ${marker}`);
}

function describeIndent(indent: string): string {
  if (indent === '') return 'none';
  const tabs = [...indent].filter((c) => c === '\t').length;
  const spaces = indent.length - tabs;
  const parts: string[] = [];
  if (tabs) parts.push(`${tabs} tab${tabs > 1 ? 's' : ''}`);
  if (spaces) parts.push(`${spaces} space${spaces > 1 ? 's' : ''}`);
  return parts.join(' + ');
}
