// FrankenPHP\Response over real HTTP: headers, redirects, refusals, end(), HEAD, flush()
// streaming and back-pressure; every buffer lent to Node comes back after each test.
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { expectNoOutstanding, json, request, startApiServer } from './api-helpers.js';
import { waitFor, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startApiServer({ worker: 'api-response.php' });
});
afterEach(async () => {
  await expectNoOutstanding(server);
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe('status and headers', () => {
  it('sets, replaces, appends, removes and reads headers; Set-Cookie twice is two lines', async () => {
    const res = await request(server, { path: '/headers' });
    expect(res.status).toBe(202);
    const j = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(j).toEqual({
      before: 200,
      status: 202,
      one: 'b',
      cookie: 'a=1; Path=/',
      gone: null,
      headers: { 'x-one': ['b'], 'Set-Cookie': ['a=1; Path=/', 'b=2; Path=/'], 'Content-Type': ['application/json'] },
      sent: false,
    });
    const cookies = res.rawHeaders.filter((_, i) => i % 2 === 0 && res.rawHeaders[i]!.toLowerCase() === 'set-cookie');
    expect(cookies).toHaveLength(2);
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers['x-one']).toBe('b');
    expect(res.headers['x-gone']).toBeUndefined();
    expect(await json(server, { path: '/last' })).toEqual({ sent_after_end: true });
  });

  it('redirects with 301 and with the default 302', async () => {
    const r = await request(server, { path: '/redirect' });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/target?x=1');
    const d = await request(server, { path: '/redirect-default' });
    expect(d.status).toBe(302);
    expect(d.headers.location).toBe('https://example.com/');
  });

  it('refuses control characters in values, bad names, bad redirects and bad statuses, and sends none of them', async () => {
    const res = await request(server, { path: '/bad' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual([
      'ValueError: Header value for "X-Evil" must not contain control characters (byte 0x0D at offset 1); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: Header value for "X-Evil" must not contain control characters (byte 0x0A at offset 1); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: Header value for "X-Evil" must not contain control characters (byte 0x00 at offset 1); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: Header name "Bad Name" is not a valid HTTP token',
      'ValueError: Header name "X-Evil\r\nInjected" is not a valid HTTP token',
      'ValueError: Header name must not be empty',
      'ValueError: Header name "a:b" is not a valid HTTP token',
      'ValueError: Header value for "Location" must not contain control characters (byte 0x0D at offset 2); only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed',
      'ValueError: FrankenPHP\\Response::redirect(): Argument #1 ($url) must not be empty',
      'ValueError: FrankenPHP\\Response::redirect(): Argument #2 ($code) must be a redirect status between 300 and 399, 200 given',
      'ValueError: FrankenPHP\\Response::setStatus(): Argument #1 ($status) must be a final status between 200 and 599 (1xx informational statuses cannot be sent as the response status), 99 given',
      'ValueError: FrankenPHP\\Response::setStatus(): Argument #1 ($status) must be a final status between 200 and 599 (1xx informational statuses cannot be sent as the response status), 600 given',
    ]);
    expect(res.headers['x-evil']).toBeUndefined();
    expect(res.headers.injected).toBeUndefined();
    expect(res.headers.location).toBeUndefined();
  });
});

describe('end()', () => {
  it('throws "The response has already ended" for every change after end()', async () => {
    const res = await request(server, { path: '/after-end' });
    expect(res.body.toString()).toBe('done');
    const last = await json<string[]>(server, { path: '/last' });
    expect(last).toHaveLength(8);
    for (const m of last) expect(m).toBe('Error: The response has already ended');
  });

  it('sends headers and no body to HEAD, with the GET length', async () => {
    const res = await request(server, { method: 'HEAD', path: '/head' });
    expect(res.status).toBe(200);
    expect(res.headers['x-head']).toBe('yes');
    expect(res.headers['content-length']).toBe(String('a body HEAD must not get'.length));
    expect(res.body.length).toBe(0);
  });

  it('sends an empty body with Content-Length 0', async () => {
    const res = await request(server, { path: '/empty' });
    expect(res.headers['content-length']).toBe('0');
    expect(res.body.length).toBe(0);
  });

  it('sends zero-copy writes in order with copied ones', async () => {
    const res = await request(server, { path: '/big-write' });
    expect(res.body.length).toBe(3 * (1 << 20) + 4);
    expect(res.body[0]).toBe(97);
    expect(res.body[(1 << 20) + 5]).toBe(98);
    expect(res.body[2 * (1 << 20) + 5]).toBe(99);
    expect(res.body.subarray(-4).toString()).toBe('tail');
  });
});

describe('flush() streaming', () => {
  it('sends three flushed chunks as they are written, chunked', async () => {
    const arrivals: { t: number; data: string }[] = [];
    const start = Date.now();
    const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server.port, path: '/stream', agent: false }, (res) => {
          res.on('data', (c: Buffer) => arrivals.push({ t: Date.now() - start, data: c.toString() }));
          res.on('end', () => resolve(res.headers));
        })
        .on('error', reject);
    });
    expect(headers['transfer-encoding']).toBe('chunked');
    expect(headers['content-length']).toBeUndefined();
    expect(arrivals.map((a) => a.data)).toEqual(['one;', 'two;', 'three;']);
    // Each chunk left while PHP slept before writing the next (300 ms apart).
    expect(arrivals[1]!.t - arrivals[0]!.t).toBeGreaterThan(200);
    expect(arrivals[2]!.t - arrivals[1]!.t).toBeGreaterThan(200);
  });

  it('sends a flushed response to HEAD without a body', async () => {
    const res = await request(server, { method: 'HEAD', path: '/stream' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.body.length).toBe(0);
  });

  it('gets every buffer back when the client leaves in the middle of a stream', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: '/huge?mib=16', agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 3 * (1 << 20)) req.destroy();
        });
        res.on('close', () => resolve());
      });
      req.on('error', (e) => (req.destroyed ? resolve() : reject(e)));
    });
    // The handler stops (cancelled when the client left, or told by write() if it was not
    // interrupted in time) well before the 16th MiB; the server serves on.
    let last: { peak?: number; written?: number; error?: string } | null = null;
    let previous = -1;
    for (let i = 0; i < 100; i++) {
      last = await json<{ peak?: number; written?: number } | null>(server, { path: '/last' });
      if (last?.written !== undefined && last.written === previous) break; // no more progress
      previous = last?.written ?? -1;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (last?.error !== undefined) expect(last.error).toBe('The client closed the connection');
    expect(last?.written).toBeLessThan(16);
    expect(last?.peak).toBeLessThan(16 * (1 << 20));
  });

  it('reports the headers sent and refuses header changes after flush()', async () => {
    const res = await request(server, { path: '/stream-headers' });
    expect(JSON.parse(res.body.toString())).toEqual({
      sent: true,
      set: 'Error: The response headers have already been sent by flush()',
      status: 'Error: The response headers have already been sent by flush()',
    });
  });

  it('ends a flushed response whose handler returned without end()', async () => {
    const res = await request(server, { path: '/stream-no-end' });
    expect(res.body.toString()).toBe('ab');
  });

  it('cuts the connection when the handler throws after flush()', async () => {
    const err = await new Promise<Error | string>((resolve) => {
      http
        .get({ host: '127.0.0.1', port: server.port, path: '/stream-throw', agent: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('error', (e) => resolve(e));
          res.on('end', () => resolve(body));
        })
        .on('error', (e) => resolve(e));
    });
    expect(err).toBeInstanceOf(Error);
    // Headers and the flushed part arrived, then the connection closed without the last chunk.
    expect((err as Error).message).toMatch(/aborted/);
    await waitFor(() => server.logs().find((l) => String(l.msg).includes('failed mid-stream')));
  });

  it('keeps memory bounded while a slow client reads 64 MiB (back-pressure)', async () => {
    const rss = (): number => {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'));
      return Number(m![1]) * 1024;
    };
    const before = rss();
    let maxWhilePaused = 0;
    let received = 0;
    let ok = true;
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server.port, path: '/huge?mib=64', agent: false }, (res) => {
          res.pause();
          // The client reads nothing for 1.5 s: without back-pressure PHP would queue all 64 MiB.
          const sampler = setInterval(() => (maxWhilePaused = Math.max(maxWhilePaused, rss())), 100);
          setTimeout(() => {
            clearInterval(sampler);
            res.on('data', (c: Buffer) => {
              // Every 1 MiB block is one letter: spot-check the first byte of each block.
              for (let i = 0; i < c.length; i++) {
                const off = received + i;
                if (off % (1 << 20) === 0 && c[i] !== 65 + ((off >> 20) % 26)) ok = false;
              }
              received += c.length;
            });
            res.on('end', () => resolve());
            res.resume();
          }, 1500);
        })
        .on('error', reject);
    });
    console.log(`64 MiB to a paused client: server RSS +${((maxWhilePaused - before) / 1048576).toFixed(1)} MiB while paused`);
    expect(received).toBe(64 * (1 << 20));
    expect(ok).toBe(true);
    expect(maxWhilePaused - before).toBeLessThan(40 * (1 << 20));
    const { peak } = await json<{ peak: number }>(server, { path: '/last' });
    // PHP's heap held at most a few of the 1 MiB strings at once.
    console.log(`PHP memory_get_usage() peak while streaming: ${(peak / 1048576).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(16 * (1 << 20));
  });
});
