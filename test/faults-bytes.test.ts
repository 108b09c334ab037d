// Response bytes and slow clients (issue 11): a client that does not read a large response
// must not stall a fatal-error restart or a max_requests recycle, nor keep its bytes counted
// against later requests' memory_limit.
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
    server = await startServer({ worker: 'slow-bytes.php', globalExtra: 'php_ini memory_limit 128M' });
    const slow = slowReader(server.port, '/big?mib=50');
    expect(await slow.head).toMatch(/^HTTP\/1\.1 200 /);
    expect((await get(`${server.url}/oom`)).status).toBe(500);
    await waitFor(() => server!.logs().some((l) => String(l.msg).includes('restarting the interpreter after a fatal error')));
    // The slow reader has not read its response yet, and the restarted thread serves.
    expect(await get(`${server.url}/hello`)).toEqual({ status: 200, body: 'ok /hello' });
    expect(slow.socket.isPaused()).toBe(true);
    // Its bytes were not lost with the interpreter they came from.
    expect(await slow.drain()).toEqual({ status: 'HTTP/1.1 200 OK', body: 50 * MIB, allB: true });
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
