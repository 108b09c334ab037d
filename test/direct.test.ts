// Bodyless GETs and HEADs reach PHP without Fastify's routing (src/server/direct.ts); a request
// with a body (here an empty one, `Content-Length: 0`) takes Fastify's route. Both must answer
// alike: same status, headers, body, and what PHP sees (less the Content-Length header).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ worker: 'echo.php', env: { PHPASYNC_TEST_STATS: '1' } });
});
afterAll(async () => {
  server.proc.kill('SIGTERM');
  await server.exited;
});

/** Writes `raw` on a fresh connection and returns everything read until the server closes. */
function exchange(raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(server.port, '127.0.0.1', () => s.write(raw));
    let buf = '';
    s.on('data', (d: Buffer) => (buf += d.toString('latin1')));
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
}

/** A response with what varies per request taken out: the Date, the generated request id, and
 * the length (PHP echoes the request's headers, Content-Length among them). */
function normalised(raw: string): { head: string[]; body: unknown } {
  const sep = raw.indexOf('\r\n\r\n');
  const head = raw
    .slice(0, sep)
    .split('\r\n')
    .filter((l) => !/^date:/i.test(l))
    .map((l) => l.replace(/^(x-request-id): req-\w+$/i, '$1: req-N').replace(/^(content-length): \d+$/i, '$1: n'));
  const text = raw.slice(sep + 4);
  if (!text.startsWith('{')) return { head, body: text };
  const body = JSON.parse(text) as { headers: Record<string, unknown> };
  delete body.headers['content-length'];
  delete body.headers['Content-Length'];
  const ids = body.headers['X-Request-Id'] ?? body.headers['x-request-id'];
  return { head, body: { ...body, ids } };
}

const TARGETS = ['/', '/hello?x=1&y=%20', '/a/../b', '//double', '/caf%E9', '/a%zz', '*', `/${'p'.repeat(8000)}`];

describe('bodyless requests without Fastify routing', () => {
  for (const method of ['GET', 'HEAD']) {
    it(`${method}: answered as the same request with an empty body is`, async () => {
      for (const target of TARGETS) {
        const head = `${method} ${target} HTTP/1.1\r\nHost: example.test\r\nX-Multi: a\r\nConnection: close\r\n`;
        const direct = await exchange(`${head}\r\n`);
        const routed = await exchange(`${head}Content-Length: 0\r\n\r\n`);
        expect(normalised(direct), target).toEqual(normalised(routed));
      }
    });
  }

  it('echoes a client X-Request-ID, makes one otherwise, and keeps Fastify\'s own route', async () => {
    const sent = await exchange('GET /x HTTP/1.1\r\nHost: a\r\nX-Request-ID: trace-42\r\nConnection: close\r\n\r\n');
    expect(sent).toMatch(/\r\nx-request-id: trace-42\r\n/i);
    const made = await exchange('GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(made).toMatch(/\r\nx-request-id: req-\w+\r\n/i);
    const stats = await exchange('GET /__phpasync/stats HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(stats).toMatch(/^HTTP\/1\.1 200 /);
    expect(stats).toContain('"pendingRequests"');
    expect(stats).not.toContain('"X-Handled-By"');
  });

  it('answers pipelined bodyless requests in order, each seen by PHP with its own target', async () => {
    const n = 50;
    let raw = '';
    for (let i = 0; i < n; i++) raw += `GET /p${i} HTTP/1.1\r\nHost: a\r\n${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`;
    const out = await exchange(raw);
    const uris = [...out.matchAll(/"uri":"([^"]*)"/g)].map((m) => m[1]);
    expect(uris).toEqual(Array.from({ length: n }, (_, i) => `\\/p${i}`));
  });
});
