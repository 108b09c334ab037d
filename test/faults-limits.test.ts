// Request timeout, client abort, body/header limits, malformed HTTP and overload.
import http from 'node:http';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawConnection, startServer, waitFor, type RunningServer } from './helpers/server.js';

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.text(), headers: r.headers };
}

/** Writes raw bytes on a fresh connection and returns everything the server sent back. */
function raw(port: number, bytes: string): Promise<string> {
  const c = rawConnection(port);
  c.socket.write(bytes);
  return c.received;
}

describe('request timeout', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'fault-app.php', workerExtra: 'request_timeout 500ms' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  for (const url of ['/spin-work', '/spin-call']) {
    it(`interrupts a handler stuck in a loop (${url}) with 504 and keeps serving`, async () => {
      const r = await get(server.url + url);
      expect(r.status).toBe(504);
      expect(r.body).toBe('Gateway Timeout\n');
      expect((await get(`${server.url}/after`)).body).toBe('ok /after');
    });
  }

  it('cannot be caught by the handler: neither catch (Throwable) nor finally runs', async () => {
    const r = await get(`${server.url}/spin-catch`);
    expect(r.status).toBe(504);
    expect(r.body).not.toContain('caught');
    const line = await waitFor(() => server.logs().find((l) => String(l.msg).startsWith('request timeout:')));
    expect(line.msg).toBe('request timeout: the handler ran for more than 500 ms; interrupted, answered 504');
    expect(line.reqId).toMatch(/^req-/);
    expect(server.output.join('\n')).not.toContain('finally ran');
  });

  for (const url of ['/sleep', '/delay', '/await', '/read']) {
    it(`interrupts a handler suspended in a wait (${url}) with 504 and keeps serving`, async () => {
      const t0 = Date.now();
      const r = await get(server.url + url);
      expect(r.status).toBe(504);
      expect(r.body).toBe('Gateway Timeout\n');
      expect(Date.now() - t0).toBeLessThan(10_000); // the wait itself is 60 s
      expect((await get(`${server.url}/after`)).body).toBe('ok /after');
      expect(server.output.join('\n')).not.toContain(`woke ${url}`);
    });
  }

  it('interrupts a handler waiting in flush() back-pressure for a client that does not read', async () => {
    const before = server.logs().filter((l) => String(l.msg).includes('waited for more than')).length;
    const conn = rawConnection(server.port, 15_000);
    conn.socket.write('GET /stream-stuck HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    conn.socket.pause(); // read nothing: the server's writes back up
    const line = await waitFor(() => server.logs().filter((l) => String(l.msg).includes('waited for more than'))[before], 10_000);
    expect(line.reqId).toMatch(/^req-/);
    expect((await get(`${server.url}/after`)).body).toBe('ok /after');
    conn.socket.destroy();
    expect(server.output.join('\n')).not.toContain('woke /stream-stuck');
  });

  it('cancels the coroutines a timed-out handler spawned', async () => {
    const ended = (): number => server.output.filter((l) => l.includes('child of /await ended')).length;
    const before = ended(); // the /await case above ended one child already
    expect((await get(`${server.url}/await`)).status).toBe(504);
    await waitFor(() => ended() === before + 1);
  });

  it('cannot be caught while suspended either: neither catch (Throwable) nor finally runs', async () => {
    const before = server.output.filter((l) => l.includes('finally ran')).length;
    const r = await get(`${server.url}/sleep-finally`);
    expect(r.status).toBe(504);
    expect(r.body).not.toContain('caught');
    const line = await waitFor(() => server.logs().find((l) => String(l.msg).includes('waited for more than')));
    expect(line.msg).toBe('request timeout: the handler waited for more than 500 ms; interrupted, answered 504');
    expect(line.reqId).toMatch(/^req-/);
    expect(server.output.filter((l) => l.includes('finally ran')).length).toBe(before);
  });

  it('times out suspended handlers one by one while the thread serves others', async () => {
    // 8 handlers asleep on the one PHP thread: each gets its own 504 near its own deadline,
    // and a request sent meanwhile is answered at once.
    const t0 = Date.now();
    const sleepers = Array.from({ length: 8 }, () => get(`${server.url}/sleep`).then((r) => ({ ...r, at: Date.now() - t0 })));
    await new Promise((r) => setTimeout(r, 100));
    const quick = await get(`${server.url}/quick`);
    const quickAt = Date.now() - t0;
    expect(quick.body).toBe('ok /quick');
    const done = await Promise.all(sleepers);
    expect(done.map((d) => d.status)).toEqual(Array(8).fill(504));
    for (const d of done) expect(quickAt).toBeLessThan(d.at);
  });

  it('times out a suspended handler after other suspended requests ended before their deadlines', async () => {
    // Deadlines of suspended requests wait behind one thread timer: a request that ends early
    // leaves it armed for a deadline nobody has any more; the ones after must still get theirs.
    const t0 = Date.now();
    const early = get(`${server.url}/sleep-short`); // suspended 300 ms, ends before its 500 ms
    await new Promise((r) => setTimeout(r, 50));
    const stuck = get(`${server.url}/delay`); // suspended while the early one is still waiting
    expect((await early).body).toBe('slept');
    expect((await stuck).status).toBe(504);
    // Then with nothing suspended: one that ended, the timer fired for nobody, then a stuck one.
    expect((await get(`${server.url}/short-sleep`)).body).toBe('slept');
    await new Promise((r) => setTimeout(r, 700));
    expect((await get(`${server.url}/sleep`)).status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(20_000); // each wait itself is 60 s
  });

  it('keeps the interpreter: a timeout is not a restart', async () => {
    await get(`${server.url}/count`);
    const before = Number((await get(`${server.url}/count`)).body);
    expect((await get(`${server.url}/spin-work`)).status).toBe(504);
    expect(Number((await get(`${server.url}/count`)).body)).toBe(before + 1);
  });
});

describe('client abort', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // The default request timeout (30 s) is far beyond this test: only the abort can stop /spin-work.
    server = await startServer({ worker: 'fault-app.php' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('interrupts the handler of a client that went away, logs no error, and serves the next request', async () => {
    const ac = new AbortController();
    const aborted = fetch(`${server.url}/spin-work`, { signal: ac.signal }).catch((e: Error) => e.name);
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    expect(await aborted).toBe('AbortError');
    // Liveness: one PHP thread, so this is answered only once the spinning handler is gone.
    const t0 = Date.now();
    expect((await get(`${server.url}/next`)).body).toBe('ok /next');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(server.logs().filter((l) => ['error', 'fatal'].includes(l.level as string))).toEqual([]);
    expect(server.output.join('\n')).not.toContain('request timeout');
  });

  it('drops requests whose client left while they waited in the ring', async () => {
    const busy = get(`${server.url}/work?ms=300`);
    const acs = Array.from({ length: 5 }, () => new AbortController());
    const gone = acs.map((ac, i) => fetch(`${server.url}/gone${i}`, { signal: ac.signal }).catch((e: Error) => e.name));
    await new Promise((r) => setTimeout(r, 50));
    for (const ac of acs) ac.abort();
    expect(await Promise.all(gone)).toEqual(Array(5).fill('AbortError'));
    expect((await busy).body).toBe('done');
    const c0 = Number((await get(`${server.url}/count`)).body);
    const c1 = Number((await get(`${server.url}/count`)).body);
    expect(c1).toBe(c0 + 1);
    expect(server.logs().filter((l) => ['error', 'fatal'].includes(l.level as string))).toEqual([]);
  });
});

describe('client abort of a suspended handler', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // One coroutine per thread: the next request runs only once the aborted one is gone.
    server = await startServer({ worker: 'fault-app.php', workerExtra: 'max_coroutines 1' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  for (const url of ['/sleep', '/delay', '/await', '/read']) {
    it(`interrupts ${url} when its client goes away, logs no error, and serves the next request`, async () => {
      const ac = new AbortController();
      const aborted = fetch(server.url + url, { signal: ac.signal }).catch((e: Error) => e.name);
      await new Promise((r) => setTimeout(r, 200));
      ac.abort();
      expect(await aborted).toBe('AbortError');
      const t0 = Date.now();
      expect((await get(`${server.url}/next`)).body).toBe('ok /next');
      expect(Date.now() - t0).toBeLessThan(10_000); // the wait itself is 60 s
      expect(server.logs().filter((l) => ['error', 'fatal'].includes(l.level as string))).toEqual([]);
      expect(server.output.join('\n')).not.toContain(`woke ${url}`);
    });
  }
});

describe('request limits and malformed HTTP', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'fault-app.php', siteExtra: 'request_body {\n\t\tmax_size 1KiB\n\t}' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers 413 to a body over request_body max_size before PHP sees it', async () => {
    const before = Number((await get(`${server.url}/count`)).body);
    const big = await get(`${server.url}/count`, { method: 'POST', body: 'x'.repeat(1025) });
    expect(big.status).toBe(413);
    const small = await get(`${server.url}/echo`, { method: 'POST', body: 'x'.repeat(1024) });
    expect(small.status).toBe(200);
    // The refused POST never reached a handler: the counter moved by the next call only.
    expect(Number((await get(`${server.url}/count`)).body)).toBe(before + 1);
  });

  it('answers 413 to a chunked body that grows past the limit', async () => {
    const out = await raw(
      server.port,
      `POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n400\r\n${'a'.repeat(1024)}\r\n400\r\n${'b'.repeat(1024)}\r\n0\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('answers 431 to headers larger than Node allows (16 KiB)', async () => {
    const out = await raw(server.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('answers 431 to too many headers adding up past the limit', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const out = await raw(server.port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 /);
  });

  for (const [name, bytes] of [
    ['a garbage request line', 'GARBAGE\r\n\r\n'],
    ['a bad header line', 'GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n'],
    ['both Content-Length and chunked', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['an invalid Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
  ] as const) {
    it(`answers 400 to ${name} and keeps serving`, async () => {
      const out = await raw(server.port, bytes);
      expect(out).toMatch(/^HTTP\/1\.1 400 Bad Request/);
      expect((await get(`${server.url}/after`)).body).toBe('ok /after');
    });
  }
});

describe('overload', () => {
  it('with 5x more concurrent clients than ring slots: only 200 or 503 + Retry-After, all answered, RSS bounded', async () => {
    const server = await startServer({ worker: 'fault-app.php', bufferSize: 4 });
    try {
      const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))![1]) * 1024;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
      const one = (): Promise<{ status: number; retryAfter?: string; body: string }> =>
        new Promise((resolve, reject) => {
          http
            .get(`${server.url}/work?ms=2`, { agent }, (res) => {
              let body = '';
              res.on('data', (d: Buffer) => (body += d.toString()));
              res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body }));
            })
            .on('error', reject);
        });
      // Warm up, then measure.
      await Promise.all(Array.from({ length: 20 }, one));
      const rss0 = rss();
      const counts = new Map<number, number>();
      const until = Date.now() + 10_000; // 10 s of overload: long enough for a leak per 503 to show in RSS
      const client = async (): Promise<void> => {
        while (Date.now() < until) {
          const r = await one();
          counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
          if (r.status === 200) expect(r.body).toBe('done');
          else {
            expect(r.status).toBe(503);
            expect(r.retryAfter).toBe('1');
          }
        }
      };
      await Promise.all(Array.from({ length: 20 }, client)); // 20 clients = 5 x buffer_size 4
      agent.destroy();
      expect([...counts.keys()].every((s) => s === 200 || s === 503)).toBe(true);
      expect(counts.get(200) ?? 0).toBeGreaterThan(0);
      expect(rss()).toBeLessThan(rss0 + 64 * 1024 * 1024);
      expect((await get(`${server.url}/after`)).body).toBe('ok /after');
      expect(server.proc.exitCode).toBeNull();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
