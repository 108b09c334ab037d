// Graceful shutdown (drain, 503 to requests that arrive meanwhile, cancel past drain_timeout,
// second signal) and max_requests.
import http from 'node:http';
import { describe, expect, it } from 'vitest';

import { rawConnection, startServer } from './helpers/server.js';

function get(url: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/** Splits what a connection received into its responses (each has a Content-Length here). */
function responses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`incomplete response head: ${JSON.stringify(rest)}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length)) throw new Error(`no Content-Length in ${JSON.stringify(statusLine)}`);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

describe('graceful shutdown', () => {
  it('SIGTERM: in-flight requests finish, new connections are refused, exit 0', async () => {
    const server = await startServer({ worker: 'fault-app.php' });
    const inflight = get(`${server.url}/work?ms=800`);
    await new Promise((r) => setTimeout(r, 100));
    const exited = server.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    await expect(get(`${server.url}/late`)).rejects.toThrow(/ECONNREFUSED/);
    expect(await inflight).toEqual({ status: 200, body: 'done' });
    expect(await exited).toBe(0);
  });

  it('SIGTERM: a new request on a busy keep-alive connection gets 503 + Connection: close after the in-flight 200, then the connection is closed', async () => {
    const server = await startServer({ worker: 'fault-app.php' });
    const conn = rawConnection(server.port);
    conn.socket.write(GET('/work?ms=800') + GET('/second')); // both accepted before the signal
    await sleep(100);
    const exited = server.stop('SIGTERM');
    await sleep(100);
    conn.socket.write(GET('/late')); // pipelined: sent before the in-flight answers are back
    const [inflight, second, late, ...more] = responses(await conn.received);
    expect(inflight).toMatchObject({ status: 200, body: 'done' });
    expect(second).toMatchObject({ status: 200, body: 'ok /second' });
    // Not "close": that would drop the answers queued behind them without a word.
    expect([inflight!.headers.connection, second!.headers.connection]).toEqual(['keep-alive', 'keep-alive']);
    expect(late).toMatchObject({ status: 503, headers: { connection: 'close' } });
    expect(more).toEqual([]);
    expect(conn.ended).toBe(true);
    expect(await exited).toBe(0);
  });

  it('SIGTERM: a connection opened before it gets 503 + Connection: close for its first request; an idle keep-alive one is closed at once', async () => {
    const server = await startServer({ worker: 'fault-app.php' });
    const idle = rawConnection(server.port);
    idle.socket.write(GET('/first'));
    await new Promise((r) => idle.socket.once('data', r)); // answered: the connection is idle now
    const inflight = get(`${server.url}/work?ms=800`);
    const quiet = rawConnection(server.port); // connected, nothing sent until the server drains
    await sleep(100);
    const exited = server.stop('SIGTERM');
    await sleep(100);
    quiet.socket.write(GET('/late'));
    const q = responses(await quiet.received);
    expect(q).toMatchObject([{ status: 503, headers: { connection: 'close' } }]);
    expect(quiet.ended).toBe(true);
    // The idle one had its answer and is closed without waiting for the in-flight request.
    expect(await Promise.race([idle.received, inflight.then(() => 'in-flight answered first')])).toMatch(/^HTTP\/1\.1 200 /);
    expect(responses(await idle.received)).toMatchObject([{ status: 200, body: 'ok /first', headers: { connection: 'keep-alive' } }]);
    expect(idle.ended).toBe(true);
    expect(await inflight).toEqual({ status: 200, body: 'done' });
    expect(await exited).toBe(0);
  });

  // drain_timeout is phpasync's name for Caddy's grace_period: both must work the same.
  for (const option of ['drain_timeout', 'grace_period']) {
    it(`past ${option}, what still runs is cancelled (503) and the server exits 0`, async () => {
      const server = await startServer({ worker: 'fault-app.php', globalOptions: `${option} 300ms`, workerExtra: 'request_timeout off' });
      const stuck = get(`${server.url}/spin-work`).catch((e: Error) => e.message);
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000); // liveness: the spinning handler did not hold the exit
      const r = await stuck;
      expect(typeof r === 'string' ? r : r.status).toBe(503);
      expect(server.logs().some((l) => l.msg === 'shutting down' && l.drainMs === 300)).toBe(true);
      expect(server.logs().some((l) => l.msg === 'drain time is over: cancelled the requests still running' && l.cancelled === 1)).toBe(true);
    });
  }

  it('past drain_timeout, a handler suspended in a wait is interrupted too (503, exit 0)', async () => {
    const server = await startServer({ worker: 'fault-app.php', globalOptions: 'drain_timeout 300ms', workerExtra: 'request_timeout off' });
    const asleep = [get(`${server.url}/sleep`), get(`${server.url}/await`)].map((p) => p.then((r) => r.status, (e: Error) => e.message));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000); // their waits are 60 s
    expect(await Promise.all(asleep)).toEqual([503, 503]);
    expect(server.logs().some((l) => l.msg === 'drain time is over: cancelled the requests still running' && l.cancelled === 2)).toBe(true);
    const out = server.output.join('\n');
    expect(out).not.toContain('woke /');
    expect(out).toContain('child of /await ended'); // its spawned coroutine was cancelled with it
  });

  it('a second signal forces the exit', async () => {
    const server = await startServer({ worker: 'fault-app.php', workerExtra: 'request_timeout off' });
    void get(`${server.url}/spin-work`).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    server.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(await server.stop('SIGTERM')).toBe(1);
    expect(server.logs().some((l) => l.msg === 'second signal: exiting now')).toBe(true);
  });
});

describe('max_requests', () => {
  it('restarts the interpreter after N requests, drained, nothing lost', async () => {
    const server = await startServer({ worker: 'fault-app.php', workerExtra: 'max_requests 25', bufferSize: 100 });
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const counts: number[] = [];
      for (let i = 0; i < 100; i++) {
        const r = await get(`${server.url}/count`, agent);
        expect(r.status).toBe(200);
        counts.push(Number(r.body));
      }
      // The per-interpreter counter never passes 25 and starts over after each restart.
      expect(Math.max(...counts)).toBe(25);
      expect(counts.filter((c) => c === 1).length).toBe(4);
      // Concurrent requests across restarts: every one answered.
      const many = await Promise.all(Array.from({ length: 60 }, (_, i) => get(`${server.url}/c${i}`)));
      for (const [i, r] of many.entries()) expect(r).toEqual({ status: 200, body: `ok /c${i}` });
      agent.destroy();
      expect(server.logs().filter((l) => l.msg === 'PHP thread 0: restarting the interpreter after 25 requests (max_requests)').length).toBeGreaterThanOrEqual(4);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
