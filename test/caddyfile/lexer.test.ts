import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/caddyfile/lexer.js';

const F = '/virtual/Caddyfile';
/** [text, quote, lineStart] per token; positions are checked separately. */
function lex(src: string, env: Record<string, string> = {}): [string, string, boolean][] {
  return tokenize(src, F, { env }).map((t) => [t.text, t.quote, t.lineStart]);
}

describe('lexer', () => {
  it('splits on whitespace and marks line starts', () => {
    expect(lex('a b\n  c\td\n')).toEqual([
      ['a', 'none', true],
      ['b', 'none', false],
      ['c', 'none', true],
      ['d', 'none', false],
    ]);
  });

  it('records 1-based line and column', () => {
    const toks = tokenize('a\n\tbb  c', F, { env: {} });
    expect(toks.map((t) => [t.loc.line, t.loc.column])).toEqual([
      [1, 1],
      [2, 2],
      [2, 6],
    ]);
  });

  it('reads double-quoted strings, where only \\" is an escape', () => {
    expect(lex('respond "a \\"b\\" c\\d"')).toEqual([
      ['respond', 'none', true],
      ['a "b" c\\d', 'double', false],
    ]);
  });

  it('lets quoted strings span lines', () => {
    expect(lex('x "a\nb" y')).toEqual([
      ['x', 'none', true],
      ['a\nb', 'double', false],
      ['y', 'none', false],
    ]);
  });

  it('reads backtick strings verbatim, quotes included', () => {
    expect(lex('respond `{"a": "b\\n"}`')).toEqual([
      ['respond', 'none', true],
      ['{"a": "b\\n"}', 'backtick', false],
    ]);
  });

  it('skips comments only at the start of a word', () => {
    expect(lex('a # comment\nb#c # d\n#e')).toEqual([
      ['a', 'none', true],
      ['b#c', 'none', true],
    ]);
  });

  it('joins lines ending with a backslash', () => {
    expect(lex('a b \\\n  c\nd')).toEqual([
      ['a', 'none', true],
      ['b', 'none', false],
      ['c', 'none', false],
      ['d', 'none', true],
    ]);
  });

  it('strips the closing marker indentation from heredocs and reads what follows it', () => {
    const toks = tokenize('respond <<HTML\n\t\t<p>\n\t\t  hi\n\n\t\t</p>\n\t\tHTML 201\nnext', F, { env: {} });
    expect(toks.map((t) => [t.text, t.quote, t.lineStart])).toEqual([
      ['respond', 'none', true],
      ['<p>\n  hi\n\n</p>', 'heredoc', false],
      ['201', 'none', false],
      ['next', 'none', true],
    ]);
    expect(toks[2]!.loc).toEqual({ file: F, line: 6, column: 8 });
  });

  it('keeps a heredoc body line that only contains the marker as a longer word', () => {
    expect(lex('x <<EOF\nEOFX\nEOF')[1]).toEqual(['EOFX', 'heredoc', false]);
  });

  it('reads \\<< as a literal word', () => {
    expect(lex('x \\<<EOF')).toEqual([
      ['x', 'none', true],
      ['<<EOF', 'none', false],
    ]);
  });

  it('substitutes {$VAR} and {$VAR:default} before tokenizing', () => {
    expect(lex(':{$PORT} {$HOST:localhost} x{$EMPTY:d}y {$UNSET}z', { PORT: '80' })).toEqual([
      [':80', 'none', true],
      ['localhost', 'none', false],
      ['xdy', 'none', false],
      ['z', 'none', false],
    ]);
  });

  it('uses the default only for an unset variable, as Caddy does', () => {
    expect(lex('a{$SET_EMPTY:d}b', { SET_EMPTY: '' })).toEqual([['ab', 'none', true]]);
  });

  it('lets one variable expand to several words, located at the placeholder', () => {
    const toks = tokenize('a {$ARGS} b', F, { env: { ARGS: 'x y' } });
    expect(toks.map((t) => [t.text, t.loc.column])).toEqual([
      ['a', 1],
      ['x', 3],
      ['y', 3],
      ['b', 11],
    ]);
  });

  it('substitutes variables inside quotes too', () => {
    expect(lex('"{$A} b"', { A: 'a' })).toEqual([['a b', 'double', true]]);
  });

  it('keeps runtime placeholders', () => {
    expect(lex('rewrite * /i.php?uri={http.request.uri.path}&q={query}')[2]).toEqual([
      '/i.php?uri={http.request.uri.path}&q={query}',
      'none',
      false,
    ]);
  });

  it('ignores a byte order mark and CR line ends', () => {
    expect(lex('\ufeffa\r\nb "c\r\nd"')).toEqual([
      ['a', 'none', true],
      ['b', 'none', true],
      ['c\nd', 'double', false],
    ]);
  });
});
