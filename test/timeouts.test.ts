// The HTTP server's timeouts: `servers { timeouts { read_body read_header write idle } }`.
// Short values in each test's Caddyfile; every assertion is about what the server did (answered
// 408, closed, logged), and the clients' own timeouts only keep a failing test from hanging.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { rawConnection, startServer, waitFor, type RunningServer } from './helpers/server.js';

const timeouts = (body: string): string => `servers {\n\t\ttimeouts {\n\t\t\t${body}\n\t\t}\n\t}`;

/** Writes `head`, then `piece` every 200 ms until the server answers; resolves with what it
 * sent once the connection closed. A piece that crosses the server's close is answered with a
 * reset, which must not hide the answer read before it (it flaked under load). */
function trickle(port: number, head: string, piece: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(head);
  const timer = setInterval(() => socket.writable && socket.write(piece), 200);
  return new Promise<string>((resolve) => {
    let out = '';
    socket.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      clearInterval(timer);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve(out);
    });
    socket.setTimeout(20_000, () => socket.destroy());
  });
}

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) expect(await server.stop()).toBe(0);
  server = undefined;
});

const logged = (s: RunningServer, prefix: string): Record<string, unknown>[] => s.logs().filter((l) => String(l.msg).startsWith(prefix));

describe('read_body', () => {
  it('answers 408 and closes a connection whose body trickles in, with one log line', async () => {
    server = await startServer({ worker: 'slow-bytes.php', globalOptions: timeouts('read_body 1s') });
    // One byte every 200 ms: the connection is never idle, the body never complete.
    const got = await trickle(server.port, 'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n', 'x');
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
    const lines = await waitFor(() => { const l = logged(server!, 'read timeout:'); return l.length > 0 && l; });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toBe('read timeout: the request body did not arrive within read_body (1000 ms): answered 408 and closed the connection');
    // The server serves on.
    expect(await (await fetch(`${server.url}/after`)).text()).toBe('ok /after');
  }, 30_000);
});

describe('read_header', () => {
  it('answers 408 and closes a connection whose headers trickle in, with one log line', async () => {
    server = await startServer({ worker: 'slow-bytes.php', globalOptions: timeouts('read_header 1s') });
    const got = await trickle(server.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-A: b\r\n');
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
    const lines = await waitFor(() => { const l = logged(server!, 'read timeout:'); return l.length > 0 && l; });
    expect(lines.map((l) => l.msg)).toEqual(['read timeout: the request headers did not arrive within read_header (1000 ms): answered 408 and closed the connection']);
  }, 30_000);
});

describe('idle', () => {
  it('closes a keep-alive connection that sends no further request', async () => {
    server = await startServer({ worker: 'slow-bytes.php', globalOptions: timeouts('idle 500ms') });
    const c = rawConnection(server.port, 20_000);
    c.socket.write('GET /one HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const got = await c.received;
    expect(got).toContain('ok /one');
    expect(c.ended).toBe(true); // the server closed it, not the client's own timeout
  }, 30_000);
});

describe('write', () => {
  it('cuts a client that stops reading a response and frees its bytes; a slow reader is not cut', async () => {
    server = await startServer({ worker: 'slow-bytes.php', globalOptions: timeouts('write 1s'), env: { PHPASYNC_TEST_STATS: '1' } });
    // A client that reads slowly but steadily (at most 64 KiB every 50 ms) is not cut by write 1s.
    const steady = net.connect(server.port, '127.0.0.1');
    steady.write('GET /big?mib=8 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    let steadyBytes = 0;
    steady.on('data', (d: Buffer) => {
      steadyBytes += d.length;
      steady.pause();
    });
    const pacer = setInterval(() => steady.resume(), 50);
    const steadyDone = new Promise<void>((resolve, reject) => {
      steady.on('end', resolve);
      steady.on('error', reject);
    });

    // A client that reads the head and then nothing.
    const stuck = net.connect(server.port, '127.0.0.1');
    stuck.write('GET /big?mib=50 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await new Promise<void>((resolve) => stuck.once('data', () => resolve()));
    stuck.pause();
    const line = await waitFor(() => logged(server!, 'write timeout:')[0], 20_000);
    expect(line.msg).toMatch(/^write timeout: the client read nothing for 1000 ms \(write\): closed the connection and freed its \d+ unsent bytes$/);
    // Its response's bytes are released: nothing held by JS once the steady reader is done too.
    await steadyDone;
    clearInterval(pacer);
    expect(steadyBytes).toBeGreaterThan(8 * (1 << 20));
    let stats: { heldByJs: number; pendingRequests: number } | undefined;
    for (let i = 0; i < 100; i++) {
      stats = (await (await fetch(`${server.url}/__phpasync/stats`)).json()) as { heldByJs: number; pendingRequests: number };
      if (stats.heldByJs === 0 && stats.pendingRequests === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stats).toMatchObject({ heldByJs: 0, pendingRequests: 0 });
    expect(logged(server, 'write timeout:')).toHaveLength(1);
    stuck.destroy();
  }, 60_000);
});
