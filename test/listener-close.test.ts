// Shutdown and connections the kernel has completed but the server has not accepted yet:
// closing the listening socket would reset them (ECONNRESET on a request the server never
// read). The race is made deterministic in this process: the clients connect while the event
// loop is held, so their connections wait in the accept queue when server.close() runs (the
// server is Node's HTTP server under src/server/drain.ts, as `phpasync run` sets it up).
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';

import { listenPending } from '../src/native/index.js';
import { gracefulConnections } from '../src/server/drain.js';

/** Sends one GET on a fresh connection; resolves with the status line, or the error. */
function exchange(port: number, path: string): { issued: Promise<void>; outcome: Promise<string> } {
  let issued!: () => void;
  const issuedP = new Promise<void>((resolve) => (issued = resolve));
  const outcome = new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    socket.once('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    socket.on('data', (d: Buffer) => (buf += d.toString('latin1')));
    socket.on('end', () => resolve(buf.split('\r\n')[0] + ' ' + buf.slice(buf.indexOf('\r\n\r\n') + 4)));
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
    // net.connect issues connect() on the next tick.
    process.nextTick(issued);
  });
  return { issued: issuedP, outcome };
}

describe('closing the listening socket', () => {
  it('accepts and answers the connections queued in the kernel when server.close() runs: none is reset', async () => {
    const server = http.createServer((req, res) => res.end(`ok ${req.url}`));
    gracefulConnections(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const clients = Array.from({ length: 20 }, (_, i) => exchange(port, `/c${i}`));
    const closed = new Promise<void>((resolve) => server.once('close', resolve));
    // After the ticks that issued the connects, and before the loop can accept anything: the
    // kernel completes the handshakes on loopback and queues the connections.
    await Promise.all(clients.map((c) => c.issued));
    const until = Date.now() + 2000;
    while (listenPending(fd) !== 1 && Date.now() < until);
    const settle = Date.now() + 50;
    while (Date.now() < settle);
    expect(listenPending(fd)).toBe(1);
    server.close();
    const outcomes = await Promise.all(clients.map((c) => c.outcome));
    expect(outcomes).toEqual(clients.map((_, i) => `HTTP/1.1 200 OK ok /c${i}`));
    await closed;
    // Closed for good: a new connection is refused.
    expect(await exchange(port, '/late').outcome).toBe('error ECONNREFUSED');
  });

  it('listenPending: 0 for an empty queue, -1 for a bad fd, a TypeError for anything but a number', async () => {
    const server = net.createServer({ pauseOnConnect: true }, (s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    expect(listenPending(fd)).toBe(0);
    expect(listenPending(-1)).toBe(-1);
    expect(() => listenPending('3' as unknown as number)).toThrow('listenPending(fd): fd must be a number');
    server.close();
  });
});
