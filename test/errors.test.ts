// The errors table (src/server/errors.ts) is the one place TypeScript errors and host-written
// error answers come from: each code is unique, used in src/, documented in docs/errors.md,
// and no error is made anywhere else.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../src/config/errors.js';
import { UsageError, reportError } from '../src/cli/report.js';
import { ERRORS, errorMessage, httpAnswer, PhpasyncError, type ErrorCode } from '../src/server/errors.js';

const repo = path.resolve(__dirname, '..');
const src = path.join(repo, 'src');
const tableFile = path.join(src, 'server/errors.ts');
const codes = Object.keys(ERRORS) as ErrorCode[];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}
const others = sources(src).filter((f) => f !== tableFile);

/** Places that make an error or an error answer of their own, rather than through the table. */
function ownErrors(text: string): string[] {
  const patterns = [
    /new (?:Error|RangeError|TypeError|SyntaxError)\(/g,
    /class \w+ extends (?:Error|RangeError|TypeError)\b/g,
    /writeHead\(\s*[1-9]\d\d\b/g,
    /\.code\(\s*[1-9]\d\d\b/g,
    /HTTP\/1\.1 [1-9]\d\d /g,
  ];
  return patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[0]));
}

/** Files allowed to make their own errors, and why. */
const OWN_ERRORS_ALLOWED: Record<string, string> = {
  // The bench's reference server: a stand-in for a user's plain Fastify app, not phpasync.
  'bench/servers/fastify-app.ts': 'reference app',
};

describe('the errors table', () => {
  it('declares each code once', () => {
    const declared = [...fs.readFileSync(tableFile, 'utf8').matchAll(/^\s*(PHPASYNC_[A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(new Set(declared).size).toBe(declared.length);
    expect(declared.sort()).toEqual([...codes].sort());
  });

  it('gives every code a status or an exit status, and distinct answer texts', () => {
    for (const code of codes) {
      const spec: { status?: number; exit?: number } = ERRORS[code];
      if (code === 'PHPASYNC_BENCH_SKIPPED') continue; // a skipped scenario ends nothing
      expect(spec.status !== undefined || spec.exit !== undefined, code).toBe(true);
    }
    const answers = codes.filter((c) => (ERRORS[c] as { status?: number }).status !== undefined).map((c) => ERRORS[c].message);
    expect(new Set(answers).size).toBe(answers.length);
  });

  it('has every code used in src/', () => {
    const text = others.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    expect(codes.filter((c) => !text.includes(`'${c}'`))).toEqual([]);
  });

  it('has every code documented in docs/errors.md, with its status, and nothing else', () => {
    const doc = fs.readFileSync(path.join(repo, 'docs/errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(PHPASYNC_[A-Z0-9_]+)` \|(?: (\d{3}) \|)?/gm)].map((m) => ({ code: m[1]!, status: m[2] }));
    expect(rows.map((r) => r.code).sort()).toEqual([...codes].sort());
    for (const r of rows) {
      const status = (ERRORS[r.code as ErrorCode] as { status?: number }).status;
      expect(r.status === undefined ? undefined : Number(r.status), r.code).toBe(status);
    }
  });

  it('is the only place errors and error answers are made', () => {
    const found: string[] = [];
    for (const f of others) {
      const rel = path.relative(src, f);
      if (rel in OWN_ERRORS_ALLOWED) continue;
      for (const hit of ownErrors(fs.readFileSync(f, 'utf8'))) found.push(`${rel}: ${hit}`);
    }
    expect(found).toEqual([]);
  });

  it('the scan finds errors made by hand (it can fail)', () => {
    const sample = `throw new Error('x'); class Skip extends Error {}; res.writeHead(503, {}); reply.code(404); socket.end('HTTP/1.1 501 Not Implemented')`;
    expect(ownErrors(sample)).toHaveLength(5);
  });
});

describe('errors of the table', () => {
  it('carry their code, their text and their statuses', () => {
    const e = new PhpasyncError('PHPASYNC_LISTEN', ['127.0.0.1:80', 'permission denied']);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'PHPASYNC_LISTEN', message: 'cannot listen on 127.0.0.1:80: permission denied', exitCode: 1, statusCode: undefined });
    expect(errorMessage('PHPASYNC_HTTP_VERSION', '2.0')).toBe('HTTP Version Not Supported: HTTP/2.0 over an HTTP/1 connection');
  });

  it('answers with status, reason and a text body', () => {
    expect(httpAnswer('PHPASYNC_EXPECT_TOO_LARGE', 1024)).toEqual({
      status: 413,
      reason: 'Payload Too Large',
      body: 'Payload Too Large: the body is over the limit of 1024 bytes\n',
    });
    expect(() => httpAnswer('PHPASYNC_LISTEN')).toThrow('PHPASYNC_LISTEN is not an HTTP answer');
  });

  it('config and usage errors are table errors that exit 2; the others exit 1', () => {
    const at = { file: '/c/Caddyfile', line: 3, column: 5 };
    const c = new ConfigError('bad thing', at);
    expect(c).toMatchObject({ code: 'PHPASYNC_CONFIG', message: '/c/Caddyfile:3:5: bad thing', detail: 'bad thing', exitCode: 2 });
    const n = new ConfigError('tls (/c/Caddyfile:3)', undefined, 'PHPASYNC_NOT_SUPPORTED');
    expect(n).toMatchObject({ code: 'PHPASYNC_NOT_SUPPORTED', message: 'not supported yet: tls (/c/Caddyfile:3)' });
    expect(new UsageError('run: bad flag')).toMatchObject({ code: 'PHPASYNC_USAGE', exitCode: 2 });

    const write = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(reportError(c)).toBe(2);
      expect(reportError(new UsageError('x'))).toBe(2);
      expect(reportError(new PhpasyncError('PHPASYNC_WORKER_FAILED', ['boom']))).toBe(1);
      expect(reportError(new Error('not ours'))).toBe(1);
    } finally {
      process.stderr.write = write;
    }
  });
});
