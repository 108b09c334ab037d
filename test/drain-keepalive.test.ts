// SIGTERM and a keep-alive connection whose next request is on its way: the drain closes a
// connection only once it has read nothing for IDLE_GRACE_MS, and it never closes one whose
// request has reached the server (in the kernel's buffer, or its head half read): that request
// is answered 503 + Connection: close. Each race is made deterministic with raw sockets.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { IDLE_GRACE_MS } from '../src/server/drain.js';
import { startServer, type RunningServer } from './helpers/server.js';

interface Response {
  status: number;
  connection: string | undefined;
  body: string;
}

/** A raw keep-alive connection that reads its responses one by one (Content-Length framing)
 * and records how the server ended it: 'end' (a FIN) or the socket error (a reset). */
function keepAlive(port: number): {
  socket: net.Socket;
  send: (bytes: string) => Promise<void>;
  response: () => Promise<Response>;
  readonly ended: string | undefined;
} {
  const socket = net.connect(port, '127.0.0.1');
  let buf = '';
  let ended: string | undefined;
  let wake: (() => void) | undefined;
  socket.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    wake?.();
  });
  socket.on('end', () => {
    ended ??= 'end';
    wake?.();
  });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    ended = `error ${e.code ?? e.message}`;
    wake?.();
  });
  const parse = (): Response | undefined => {
    const sep = buf.indexOf('\r\n\r\n');
    if (sep < 0) return undefined;
    const head = buf.slice(0, sep).split('\r\n');
    const header = (name: string): string | undefined =>
      head.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
    const length = Number(header('content-length') ?? 0);
    if (buf.length < sep + 4 + length) return undefined;
    const r = { status: Number(head[0].split(' ')[1]), connection: header('connection'), body: buf.slice(sep + 4, sep + 4 + length) };
    buf = buf.slice(sep + 4 + length);
    return r;
  };
  return {
    socket,
    send: (bytes) => new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve()))),
    response: async () => {
      for (;;) {
        const r = parse();
        if (r) return r;
        if (ended) throw new Error(`connection ended without a response: ${ended}`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    get ended() {
      return ended;
    },
  };
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

/** Resolves once the server refuses new connections: its server.close() has run, and with it
 * the drain's first look at the open connections (Node calls closeIdleConnections() first).
 * The server closes its listening socket in a turn that finds no connection waiting to be
 * accepted (src/server/listener-close.ts): the probes are spaced, or they would hold it off. */
async function refused(port: number): Promise<void> {
  for (let first = true; ; first = false) {
    if (!first) await new Promise((resolve) => setTimeout(resolve, 5));
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(undefined);
      });
      s.once('error', resolve);
    });
    if (err?.code === 'ECONNREFUSED') return;
  }
}

/** Lets this process handle what its sockets already received (a FIN, a reset). */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

let server: RunningServer | undefined;
afterEach(() => {
  // A failed test may leave it stopped (SIGSTOP): SIGKILL works on a stopped process.
  if (server && server.proc.exitCode === null) server.proc.kill('SIGKILL');
  server = undefined;
});

describe('SIGTERM and a request on its way over a keep-alive connection', () => {
  it('a request already in the server\'s kernel buffer when the idle grace runs out (the event loop was stalled) is answered 503, not reset', async () => {
    server = await startServer({ worker: 'slow-bytes.php' });
    const c = keepAlive(server.port);
    await c.send(get('/a'));
    expect(await c.response()).toMatchObject({ status: 200, body: 'ok /a' });
    server.proc.kill('SIGTERM');
    await refused(server.port);
    // Stall the server's event loop; its clock runs on. The request reaches its kernel now,
    // well within the grace, and the loop wakes up past the grace, timers first.
    server.proc.kill('SIGSTOP');
    try {
      await settle();
      // If the server had closed the connection before it was stopped (a very slow test
      // machine), the request below would be TCP's race, not this one.
      expect(c.ended, 'the server closed the connection before the request was sent').toBe(undefined);
      await c.send(get('/b'));
      await new Promise((resolve) => setTimeout(resolve, IDLE_GRACE_MS * 2));
    } finally {
      server.proc.kill('SIGCONT');
    }
    expect(await c.response()).toEqual({ status: 503, connection: 'close', body: expect.stringContaining('Service Unavailable') });
    await new Promise((resolve) => c.socket.once('close', resolve));
    expect(c.ended).toBe('end');
    expect(await server.exited).toBe(0);
  }, 30_000);

  it('a request whose head is half received, however long its client stalls, is answered 503 once complete, not reset', async () => {
    server = await startServer({ worker: 'slow-bytes.php' });
    const c = keepAlive(server.port);
    // A witness: idle like c from the drain's first look on, it is closed when the grace is over.
    const witness = keepAlive(server.port);
    await c.send(get('/a'));
    await witness.send(get('/w'));
    expect(await c.response()).toMatchObject({ status: 200, body: 'ok /a' });
    expect(await witness.response()).toMatchObject({ status: 200, body: 'ok /w' });
    server.proc.kill('SIGTERM');
    await refused(server.port);
    await settle();
    expect(c.ended, 'the server closed the connection before the request was sent').toBe(undefined);
    await c.send('GET /b HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // The grace is over for both: the witness goes, c (a request half read) stays, however
    // long its client takes (until drain_timeout).
    await new Promise((resolve) => witness.socket.once('close', resolve));
    expect(witness.ended).toBe('end');
    await new Promise((resolve) => setTimeout(resolve, IDLE_GRACE_MS * 3));
    expect(c.ended).toBe(undefined);
    await c.send('\r\n');
    expect(await c.response()).toEqual({ status: 503, connection: 'close', body: expect.stringContaining('Service Unavailable') });
    expect(await server.exited).toBe(0);
  }, 30_000);
});
