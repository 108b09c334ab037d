// Whatever the input, the adapter either returns a config or throws a ConfigError: never a
// TypeError from a missed case, never a hang.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adaptCaddyfile } from '../../src/caddyfile/index.js';
import { ConfigError } from '../../src/config/errors.js';

const WORDS = [
  '{', '}', '{}', '(snip)', 'import', 'snip', '*', '/api/*', '@m', '@m', 'path', 'not', 'method', 'GET',
  ':8080', 'localhost:9000', 'http://127.0.0.1:0', 'https://x.com', '[::1]:1', 'frankenphp', 'worker', 'file',
  'a.php', 'num', '2', '0', '1001', 'async', 'buffer_size', 'match', 'num_threads', 'php_ini', 'root', 'route',
  'handle', 'handle_path', 'rewrite', 'uri', 'strip_prefix', 'php_server', 'php', 'file_server', 'off', 'on',
  'index', 'respond', 'redir', 'header', '-Server', '+X', 'encode', 'gzip', 'log', 'output', 'stdout',
  'request_body', 'max_size', '10MB', 'tls', 'internal', 'bind', 'order', 'before', 'debug', '{args[0]}',
  '{args[:]}', '{$HOME}', '{$NOPE:x}', '{path}', '"quoted word"', '`tick`', '<<EOF', 'EOF', '#', '\\', ',',
  'path_regexp', '(', 'header_regexp', 'query', 'a=b', 'host', 'split', '.php', 'env', 'K', 'V', 'watch',
];
const SEPARATORS = [' ', ' ', ' ', '\n', '\n\t', '\t', ' \\\n', '\r\n'];

const caddyish = fc
  .array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...SEPARATORS)), { maxLength: 60 })
  .map((parts) => parts.map(([w, s]) => w + s).join(''));

/** Balanced blocks of random lines: gets past the parser into the directive readers. */
const line = fc.array(fc.constantFrom(...WORDS.filter((w) => !['{', '}', '{}', '<<EOF', '\\', '#'].includes(w))), {
  minLength: 1,
  maxLength: 4,
});
const block: fc.Memo<string> = fc.memo((depth) =>
  fc
    .array(
      fc.oneof(
        line.map((l) => l.join(' ')),
        depth > 1 ? fc.tuple(line, block(depth - 1)).map(([l, b]) => `${l.join(' ')} {\n${b}\n}`) : line.map((l) => l.join(' ')),
      ),
      { maxLength: 6 },
    )
    .map((ls) => ls.join('\n')),
);
const structured = fc
  .tuple(fc.option(block(3)), fc.array(fc.tuple(fc.constantFrom(':8080', 'localhost:1', ':9000, :9001'), block(3)), { maxLength: 3 }))
  .map(([global, sites]) => (global ? `{\n${global}\n}\n` : '') + sites.map(([a, b]) => `${a} {\n${b}\n}\n`).join(''));

let adapted = 0;

function adaptOrConfigError(text: string): void {
  try {
    adaptCaddyfile(text, '/virtual/Caddyfile', { env: { HOME: '/home/x' } });
    adapted++;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.message).toMatch(/^\/virtual\/Caddyfile:\d+:\d+: \S/);
  }
}

describe('adapter robustness', () => {
  it('throws only ConfigError on Caddyfile-like input', () => {
    fc.assert(fc.property(caddyish, adaptOrConfigError), { numRuns: 3000 });
  });

  it('throws only ConfigError on structured input, and adapts some of it', () => {
    adapted = 0;
    fc.assert(fc.property(structured, adaptOrConfigError), { numRuns: 3000 });
    // The generator is only useful if part of its output is valid.
    expect(adapted).toBeGreaterThan(50);
  });

  it('throws only ConfigError on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), adaptOrConfigError), { numRuns: 2000 });
  });

  it('throws only ConfigError on arbitrary unicode with structure characters', () => {
    const chars = fc.constantFrom('{', '}', '"', '`', '\\', '\n', ' ', '<', '#', '$', ':', 'a', '@', '/', '*', '(', ')');
    fc.assert(fc.property(fc.array(chars, { maxLength: 120 }).map((a) => a.join('')), adaptOrConfigError), {
      numRuns: 3000,
    });
  });
});
