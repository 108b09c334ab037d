// Response bytes and slow clients: a client that does not read a large response
// must not stall a fatal-error restart or a max_requests recycle, nor keep its bytes counted
// against later requests' memory_limit.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { startServer, waitFor, type RunningServer } from './helpers/server.js';

const MIB = 1 << 20;

/** A client that sends GET `path`, takes the first bytes of the answer and then stops reading
 * (the server's socket buffers fill and the rest waits in the server). `drain()` reads the rest
 * and resolves with the status line and the body's length once the server ends the response. */
function slowReader(port: number, path: string): { head: Promise<string>; drain: () => Promise<{ status: string; body: number; allB: boolean }>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  const parts: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    socket.on('end', () => resolve());
    socket.on('error', reject);
  });
  const head = new Promise<string>((resolve) => {
    socket.once('data', (d: Buffer) => {
      parts.push(d);
      socket.pause();
      resolve(d.subarray(0, Math.min(d.length, 200)).toString('latin1'));
    });
  });
  socket.on('data', (d: Buffer) => {
    if (parts.length > 0 && parts[parts.length - 1] !== d) parts.push(d);
  });
  return {
    socket,
    head,
    drain: async () => {
      socket.resume();
      await ended;
      const all = Buffer.concat(parts);
      const sep = all.indexOf('\r\n\r\n');
      const body = all.subarray(sep + 4);
      return { status: all.subarray(0, all.indexOf('\r\n')).toString(), body: body.length, allB: body.every((c) => c === 0x62) };
    },
  };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  // The timeout only keeps a hung request from hanging the test file; the assertions are about
  // order (answered while the slow reader still holds its response), not time.
  const r = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  return { status: r.status, body: await r.text() };
}

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) expect(await server.stop()).toBe(0);
  server = undefined;
});

describe('a client that does not read a large response', () => {
  it('does not stall the restart after a fatal error: other requests are answered while it holds its response', async () => {
    server = await startServer({ worker: 'slow-bytes.php' });
    const slow = slowReader(server.port, '/big?mib=50');
    expect(await slow.head).toMatch(/^HTTP\/1\.1 200 /);
    expect((await get(`${server.url}/fatal`)).status).toBe(500);
    await waitFor(() => server!.logs().some((l) => String(l.msg).includes('restarting the interpreter after a fatal error')));
    // The slow reader has not read its response yet, and the restarted thread serves.
    expect(await get(`${server.url}/hello`)).toEqual({ status: 200, body: 'ok /hello' });
    expect(slow.socket.isPaused()).toBe(true);
    // Its bytes were not lost with the interpreter they came from.
    expect(await slow.drain()).toEqual({ status: 'HTTP/1.1 200 OK', body: 50 * MIB, allB: true });
  }, 60_000);

  it('does not stall the restart when the stalled response is streamed (flush()): its frames come back after the restart', async () => {
    server = await startServer({ worker: 'slow-bytes.php', env: { PHPASYNC_TEST_STATS: '1' } });
    const slow = slowReader(server.port, '/stream?mib=20');
    expect(await slow.head).toMatch(/^HTTP\/1\.1 200 /);
    expect((await get(`${server.url}/fatal`)).status).toBe(500);
    expect(await get(`${server.url}/hello`)).toEqual({ status: 200, body: 'ok /hello' });
    expect(slow.socket.isPaused()).toBe(true);
    // The stream failed with the interpreter: the client gets a cut response, not a hang.
    const got = await slow.drain().catch((e: Error) => ({ status: 'cut', body: 0, allB: false, err: e.message }));
    expect(got.body).toBeLessThan(20 * MIB);
    // Every frame came back and was settled by the restarted thread.
    let stats: { heldByJs: number; outstandingBuffers: number } | undefined;
    for (let i = 0; i < 100; i++) {
      stats = (await (await fetch(`${server.url}/__phpasync/stats`)).json()) as { heldByJs: number; outstandingBuffers: number };
      if (stats.heldByJs === 0 && stats.outstandingBuffers === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stats).toMatchObject({ heldByJs: 0, outstandingBuffers: 0 });
    expect(await get(`${server.url}/hello2`)).toEqual({ status: 200, body: 'ok /hello2' });
  }, 60_000);

  it('does not stall a max_requests recycle: other requests are answered while it holds its response', async () => {
    server = await startServer({ worker: 'slow-bytes.php', workerExtra: 'max_requests 2' });
    const slow = slowReader(server.port, '/big?mib=50');
    expect(await slow.head).toMatch(/^HTTP\/1\.1 200 /);
    for (let i = 0; i < 4; i++) expect(await get(`${server.url}/hello${i}`)).toEqual({ status: 200, body: `ok /hello${i}` });
    expect(server.logs().filter((l) => String(l.msg).includes('(max_requests)')).length).toBeGreaterThanOrEqual(2);
    expect(slow.socket.isPaused()).toBe(true);
    expect(await slow.drain()).toEqual({ status: 'HTTP/1.1 200 OK', body: 50 * MIB, allB: true });
  }, 60_000);

  it('does not count against memory_limit after its request ended: 3 slow downloads of 50 MiB, then a request of 50 MiB, memory_limit 128M', async () => {
    server = await startServer({ worker: 'slow-bytes.php', globalExtra: 'php_ini memory_limit 128M' });
    const slow = [];
    for (let i = 0; i < 3; i++) {
      const s = slowReader(server.port, '/big?mib=50');
      expect(await s.head).toMatch(/^HTTP\/1\.1 200 /);
      slow.push(s);
    }
    expect(await get(`${server.url}/alloc?mib=50`)).toEqual({ status: 200, body: String(50 * MIB) });
    expect(server.output.join('\n')).not.toContain('Allowed memory size');
    for (const s of slow) expect(await s.drain()).toEqual({ status: 'HTTP/1.1 200 OK', body: 50 * MIB, allB: true });
  }, 60_000);
});

describe('SIGTERM while responses are being written', () => {
  it('waits for a slow reader to get every byte of its answered request, then exits 0', async () => {
    server = await startServer({ worker: 'slow-bytes.php' });
    const slow = slowReader(server.port, '/big?mib=20');
    expect(await slow.head).toMatch(/^HTTP\/1\.1 200 /);
    const s = server;
    server = undefined;
    s.proc.kill('SIGTERM');
    await waitFor(() => s.logs().some((l) => l.msg === 'shutting down'));
    // The server has begun its drain while the client still holds 20 MiB unread.
    expect(s.proc.exitCode).toBe(null);
    expect(await slow.drain()).toEqual({ status: 'HTTP/1.1 200 OK', body: 20 * MIB, allB: true });
    expect(await s.exited).toBe(0);
  }, 60_000);
});

/** One client of the load: GETs over its own keep-alive connection until the server refuses
 * the connection. Every outcome is counted; "bad" is anything but a whole response, a clean
 * refusal, or TCP's own keep-alive race: a request sent on a reused connection after the
 * server's FIN was already on the wire (the server closed it idle; a client slow to read its
 * previous response, as under ASan, sends into it). The client then reads that FIN before the
 * reset ("socket hang up"), whereas a request the server reset unread gives "read ECONNRESET"
 * (a RST without a FIN, measured with tcpdump). */
async function keepAliveClient(port: number, n: number, out: { ok: number; refused503: number; connRefused: number; finRace: number; bad: string[] }): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; ; i++) {
      const path = `/c${n}-${i}`;
      const r = await new Promise<{ status: number; body: string; connection: string | undefined } | { error: string; finRace?: boolean }>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
          let body = '';
          res.setEncoding('latin1');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
          res.on('error', (e) => resolve({ error: `${path}: response cut: ${String(e)}` }));
        });
        req.on('error', (e: NodeJS.ErrnoException) =>
          resolve({
            error: e.code === 'ECONNREFUSED' ? 'ECONNREFUSED' : `${path}: ${e.code ?? ''} ${e.message}`,
            finRace: req.reusedSocket && e.message === 'socket hang up',
          }),
        );
      });
      if ('error' in r) {
        if (r.error === 'ECONNREFUSED') out.connRefused++;
        else if (r.finRace) out.finRace++;
        else out.bad.push(r.error);
        return;
      }
      if (r.status === 200 && r.body === `ok ${path}`) out.ok++;
      else if (r.status === 503 && r.connection === 'close') out.refused503++;
      else out.bad.push(`${path}: ${r.status} ${r.body.slice(0, 80)}`);
    }
  } finally {
    agent.destroy();
  }
}

describe('SIGTERM under keep-alive load', () => {
  it('answers every request in full or refuses it cleanly: nothing is reset', async () => {
    const s = await startServer({ worker: 'slow-bytes.php', bufferSize: 200 });
    const out = { ok: 0, refused503: 0, connRefused: 0, finRace: 0, bad: [] as string[] };
    const clients = Array.from({ length: 200 }, (_, n) => keepAliveClient(s.port, n, out));
    await waitFor(() => out.ok >= 1000, 30_000);
    s.proc.kill('SIGTERM');
    await Promise.all(clients);
    expect(await s.exited).toBe(0);
    expect(out.bad).toEqual([]);
    expect(out.ok).toBeGreaterThanOrEqual(1000);
  }, 60_000);
});
