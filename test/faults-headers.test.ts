// Response heads Node refuses, 1xx statuses and bodies over V8's string limit, through real
// HTTP: one bad response is refused or answered 500 alone, and never costs another request
// its answer.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expectNoOutstanding, json, request, startApiServer } from './api-helpers.js';
import { rawConnection, waitFor, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  // 360 requests at once fit the ring: none is refused 503 before PHP sees it.
  server = await startApiServer({ worker: 'faults-headers.php', bufferSize: 400 });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

const logLines = (s: RunningServer, re: RegExp): Record<string, unknown>[] =>
  s.logs().filter((l) => typeof l.msg === 'string' && re.test(l.msg));

describe('header values and names Node would refuse', () => {
  it('refuses control bytes in values and non-token names with a ValueError, from every way to set a header', async () => {
    const msgs = await json<(string | null)[]>(server, { path: '/caught/headers' });
    expect(msgs).toEqual([
      'ValueError: Header value for "X-Bad" must not contain control characters (byte 0x01 at offset 1); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: Header value for "X-Bad" must not contain control characters (byte 0x7F at offset 6); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: Header value for "X-Bad" must not contain control characters (byte 0x1F at offset 0); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: Header value for "X-Bad" must not contain control characters (byte 0x0D at offset 1); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: Header name "X-\x01" is not a valid HTTP token',
      'ValueError: header(): Header value for "X-Bad" must not contain control characters (byte 0x1F at offset 1); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: header(): Header name "Bad Name" is not a valid HTTP token',
      'ValueError: header(): Header "NoColon" has no \':\' (expected "Name: value")',
      'ValueError: setcookie(): Header value for "Set-Cookie" must not contain control characters (byte 0x02 at offset 11); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: setrawcookie(): Header value for "Set-Cookie" must not contain control characters (byte 0x7F at offset 3); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      null, // tab, space and bytes 0x80-0xFF are fine, as for Node
    ]);
  });

  it('answers every innocent request 200 while poisoned responses are mixed into the same batches', async () => {
    const poisons = ['/poison/set', '/poison/add', '/poison/header', '/poison/cookie', '/trailer'];
    const trailerLogsBefore = logLines(server, /refused the response head/).length;
    const jobs: Promise<{ path: string; status: number; body: string }>[] = [];
    for (let i = 0; i < 360; i++) {
      const path = i % 6 === 5 ? poisons[(i / 6) % poisons.length | 0]! : `/ok/${i}`;
      jobs.push(request(server, { path }).then((r) => ({ path, status: r.status, body: r.body.toString() })));
    }
    const results = await Promise.all(jobs);
    const innocent = results.filter((r) => r.path.startsWith('/ok/'));
    expect(innocent).toHaveLength(300);
    expect(innocent.filter((r) => r.status !== 200 || r.body !== `ok ${r.path}`)).toEqual([]);
    const poisoned = results.filter((r) => !r.path.startsWith('/ok/'));
    expect(poisoned.map((r) => `${r.path} ${r.status} ${r.body}`)).toEqual(poisoned.map((r) => `${r.path} 500 Internal Server Error\n`));
    // The head Node refused (Trailer without chunked encoding) is logged with its request id.
    const trailers = poisoned.filter((r) => r.path === '/trailer').length;
    const lines = await waitFor(() => {
      const l = logLines(server, /refused the response head/);
      return l.length >= trailerLogsBefore + trailers && l;
    });
    expect(lines.at(-1)).toMatchObject({ level: 'error', reqId: expect.stringMatching(/^req-/) });
    const raw = rawConnection(server.port);
    raw.socket.write('GET /trailer HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect((await raw.received).split('\r\n')[0]).toBe('HTTP/1.1 500 Internal Server Error');
    expect(String(lines.at(-1)!.msg)).toMatch(/ERR_HTTP_TRAILER_INVALID/);
    await expectNoOutstanding(server);
  });

  it('answers a poisoned or refused head sent by flush() 500, and SIGTERM then drains and exits 0', async () => {
    const s = await startApiServer({ worker: 'faults-headers.php' });
    try {
      const [bad, refused, good] = await Promise.all([
        request(s, { path: '/poison/flush' }),
        request(s, { path: '/trailer/flush' }),
        request(s, { path: '/ok/after' }),
      ]);
      expect(bad.status).toBe(500);
      expect(refused.status).toBe(500);
      expect(good.body.toString()).toBe('ok /ok/after');
      await waitFor(() => logLines(s, /refused the response head \(ERR_HTTP_TRAILER_INVALID/).length === 1);
      // The streaming handler was stopped: its buffers came back and nothing is pending.
      await expectNoOutstanding(s);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});

describe('1xx statuses', () => {
  it('setStatus() refuses 1xx (and anything outside 200..599) with a ValueError', async () => {
    const msgs = await json<(string | null)[]>(server, { path: '/caught/status' });
    const range = (n: number): string =>
      `ValueError: FrankenPHP\\Response::setStatus(): Argument #1 ($status) must be a final status between 200 and 599 (1xx informational statuses cannot be sent as the response status), ${n} given`;
    expect(msgs).toEqual([range(100), range(103), range(199), range(99), range(600), null]);
  });

  it('answers a handler that sets 103 with 500, through a real HTTP client', async () => {
    const r = await request(server, { path: '/status?code=103' });
    expect(r.status).toBe(500);
  });

  it('keeps a pipelining client in step: 101 from the handler, then the next request', async () => {
    const c = rawConnection(server.port);
    c.socket.write('GET /status?code=101 HTTP/1.1\r\nHost: a\r\n\r\nGET /ok/next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const out = await c.received;
    const statuses = [...out.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1]);
    expect(statuses).toEqual(['500', '200']);
    expect(out.endsWith('ok /ok/next')).toBe(true);
  });

  it('does not send a 1xx from header("HTTP/1.1 103") or http_response_code(101)', async () => {
    const r = await request(server, { path: '/status-line' });
    expect(r.status).toBe(200);
    const range = (fn: string, n: number): string =>
      `ValueError: ${fn}(): The response status must be between 200 and 599 (1xx informational statuses cannot be sent as the response status), ${n} given`;
    expect(JSON.parse(r.body.toString())).toEqual([range('header', 103), range('http_response_code', 101), 200]);
  });
});

describe('bodies over V8 string limits', () => {
  it('sends a 520 MiB body made of 8 KiB writes whole, with its length', async () => {
    const mib = 520; // above 512 MiB: one latin1 string of it cannot exist in V8
    const { status, length, received } = await new Promise<{ status: number; length: string | undefined; received: number }>(
      (resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: server.port, path: `/big?mib=${mib}&chunk=8192`, agent: false }, (res) => {
            let received = 0;
            res.on('data', (c: Buffer) => (received += c.length));
            res.on('end', () => resolve({ status: res.statusCode!, length: res.headers['content-length'], received }));
            res.on('error', reject);
          })
          .on('error', reject);
      },
    );
    expect(status).toBe(200);
    expect(length).toBe(String(mib << 20));
    expect(received).toBe(mib << 20);
    await expectNoOutstanding(server);
  });
});
