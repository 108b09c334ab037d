// A worker's `match` patterns through real HTTP: requests whose path matches reach the PHP
// worker, the others get 404 (static files and classic scripts are not built, and FrankenPHP
// answers 404 when no file exists for a path no worker takes). Patterns follow Caddy's path
// matcher: case-insensitive, on the decoded and cleaned path.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileWorkerMatch } from '../../src/config/worker-match.js';
import { CLI, FIXTURES, rawConnection, tempDir } from '../helpers/server.js';

interface Served {
  url: string;
  port: number;
  stop(): Promise<number | null>;
}

/** `phpasync run` on a Caddyfile whose worker (test/fixtures/php/echo.php) has these patterns. */
async function serve(match: string): Promise<Served> {
  const dir = tempDir();
  const file = path.join(dir, 'Caddyfile');
  fs.writeFileSync(
    file,
    `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${path.join(FIXTURES, 'echo.php')}\n\t\t\tasync\n\t\t\tmatch ${match}\n\t\t}\n\t}\n}\n\nhttp://127.0.0.1:0 {\n\tphp_server {\n\t\tfile_server off\n\t}\n}\n`,
  );
  const proc = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`phpasync exited with ${code} before listening:\n${out}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Raw request line (no client normalizes `..` or escapes); returns status and body. */
async function raw(port: number, target: string): Promise<{ status: number; body: string }> {
  const c = rawConnection(port);
  c.socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const text = await c.received;
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

describe('worker match /api/* (one worker, one site)', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve('/api/*');
  });
  afterAll(async () => {
    expect(await s.stop()).toBe(0);
  });

  it('sends matching paths to the worker', async () => {
    const r = await fetch(`${s.url}/api/users?x=1`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-handled-by')).toBe('phpasync');
    expect((await r.json()).uri).toBe('/api/users?x=1');
  });

  it('answers 404 for the other paths, without PHP', async () => {
    for (const p of ['/', '/index.php', '/apix', '/api', '/static/app.js']) {
      const r = await fetch(`${s.url}${p}`);
      expect(r.status, p).toBe(404);
      expect(r.headers.get('x-handled-by'), p).toBeNull();
      expect(await r.text(), p).toBe('Not Found\n');
    }
  });

  it('matches case-insensitively on the decoded, cleaned path, as Caddy does', async () => {
    expect((await raw(s.port, '/API/Users')).status).toBe(200);
    expect((await raw(s.port, '/%61pi/x')).status).toBe(200);
    expect((await raw(s.port, '/x/../api/y')).status).toBe(200);
    expect((await raw(s.port, '//api//y')).status).toBe(200);
    expect((await raw(s.port, '/api/../secret')).status).toBe(404);
    expect((await raw(s.port, '/api%2f..%2fsecret')).status).toBe(404);
  });

  it('a 404 with a body on a keep-alive connection does not harm the next request', async () => {
    const c = rawConnection(s.port);
    c.socket.write('POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    c.socket.write('GET /api/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const text = await c.received;
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([404, 200]);
    expect(text).toContain('"uri":"\\/api\\/next"');
  });
});

describe('worker match /* (the TrueAsync docs spelling)', () => {
  it('sends every path to the worker', async () => {
    const s = await serve('/*');
    try {
      for (const p of ['/', '/anything', '/a/b.php']) {
        const r = await fetch(`${s.url}${p}`);
        expect(r.status, p).toBe(200);
        expect((await r.json()).uri, p).toBe(p);
      }
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});

describe('worker match with several patterns and Caddy pattern kinds', () => {
  it('ORs the patterns: prefix, suffix, substring, exact and glob', async () => {
    const s = await serve('/exact *.json */mid/* /g/*/x');
    try {
      const want: [string, number][] = [
        ['/exact', 200],
        ['/exact/', 404],
        ['/data/file.JSON', 200],
        ['/a/mid/b', 200],
        ['/g/one/x', 200],
        ['/g/one/two/x', 404],
        ['/nothing', 404],
      ];
      for (const [p, status] of want) expect((await raw(s.port, p)).status, p).toBe(status);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});

describe('compileWorkerMatch', () => {
  it('takes everything for *, /* and no pattern', () => {
    expect(compileWorkerMatch(['*'])).toBeUndefined();
    expect(compileWorkerMatch(['/*'])).toBeUndefined();
    expect(compileWorkerMatch([])).toBeUndefined();
  });

  it('reads absolute-form targets and bytes that are not UTF-8 without throwing', () => {
    const m = compileWorkerMatch(['/caf*'])!;
    expect(m('http://example.com/cafe?x')).toBe(true);
    expect(m('/caf%E9')).toBe(true);
    expect(m('/%zz')).toBe(false);
    expect(m('*')).toBe(false);
  });
});
