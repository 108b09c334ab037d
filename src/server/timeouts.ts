// The HTTP server's timeouts (Caddy's `servers { timeouts { read_body read_header write idle } }`)
// applied to Node's server: read_body, read_header and idle are Node's requestTimeout,
// headersTimeout and keepAliveTimeout; write, which Node has no setting for, is watched here.
// Their defaults, and why, are in src/config/defaults.ts (HTTP_TIMEOUTS).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

import type { FastifyBaseLogger } from 'fastify';

import { HTTP_TIMEOUTS, type HttpTimeouts } from '../config/defaults.js';
import type { ServerTimeouts } from '../config/model.js';
import { socketUnsent } from '../native/index.js';

export type EffectiveTimeouts = HttpTimeouts;

export function effectiveTimeouts(t: ServerTimeouts | undefined): EffectiveTimeouts {
  const e = { ...HTTP_TIMEOUTS };
  if (t?.readBodyMs !== undefined) e.readBodyMs = t.readBodyMs;
  if (t?.readHeaderMs !== undefined) e.readHeaderMs = t.readHeaderMs;
  if (t?.writeMs !== undefined) e.writeMs = t.writeMs;
  if (t?.idleMs !== undefined) e.idleMs = t.idleMs;
  // The whole request within read_body implies its headers within it too (and Node refuses
  // a headersTimeout above requestTimeout).
  if (e.readBodyMs > 0 && (e.readHeaderMs === 0 || e.readHeaderMs > e.readBodyMs)) e.readHeaderMs = e.readBodyMs;
  return e;
}

/** How often Node checks requests against read_header/read_body: often enough for the
 * shortest of them to be kept to within a quarter of it (Node's default is every 30 s). */
export function checkingIntervalMs(e: EffectiveTimeouts): number {
  const set = [e.readBodyMs, e.readHeaderMs].filter((v) => v > 0);
  if (set.length === 0) return 30_000;
  return Math.max(50, Math.min(30_000, Math.floor(Math.min(...set) / 4)));
}

/** Sets Node's timeouts on `server`, logs requests cut for read_body/read_header, and cuts
 * connections whose response makes no progress for `write`. */
export function applyTimeouts(server: Server, e: EffectiveTimeouts, log: FastifyBaseLogger): void {
  server.requestTimeout = e.readBodyMs;
  server.headersTimeout = e.readHeaderMs;
  server.keepAliveTimeout = e.idleMs;
  // Fastify's own clientError handler answers 408 and closes; this only says so, once.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket & { _httpMessage?: unknown }) => {
    if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return;
    const headersRead = socket._httpMessage !== undefined && socket._httpMessage !== null;
    log.warn(
      { remoteAddress: socket.remoteAddress, timeoutMs: headersRead ? e.readBodyMs : e.readHeaderMs },
      headersRead
        ? `read timeout: the request body did not arrive within read_body (${e.readBodyMs} ms): answered 408 and closed the connection`
        : `read timeout: the request headers did not arrive within read_header (${e.readHeaderMs} ms): answered 408 and closed the connection`,
    );
  });
  if (e.writeMs > 0) watchWrites(server, e.writeMs, log);
}

/** Bytes of `socket` not yet taken by the client: Node's buffer, libuv's queue (writeQueueSize
 * moves as a large write goes out piece by piece) and the kernel's send queue (it moves as the
 * client reads; without it progress shows only when the kernel frees a third of its buffer,
 * and a client reading 200 KiB/s looked stalled for seconds). */
function unsent(socket: Socket & { _handle?: { writeQueueSize?: number; fd?: number } | null }): number {
  const h = socket._handle;
  const q = h?.writeQueueSize;
  const node = socket.writableLength + (typeof q === 'number' ? q : 0);
  if (node === 0) return 0; // all in the kernel (or nothing to send): no response waits on it
  const k = typeof h?.fd === 'number' ? socketUnsent(h.fd) : -1;
  return node + (k > 0 ? k : 0);
}

function watchWrites(server: Server, writeMs: number, log: FastifyBaseLogger): void {
  // Per connection: its unsent byte count when last seen, and since when it has not moved.
  const watched = new Map<Socket, { unsent: number; since: number }>();
  server.on('connection', (socket: Socket) => {
    watched.set(socket, { unsent: 0, since: Date.now() });
    socket.once('close', () => watched.delete(socket));
  });
  const every = Math.max(50, Math.min(1000, Math.floor(writeMs / 4)));
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [socket, w] of watched) {
      const n = unsent(socket);
      if (n === 0 || n !== w.unsent) {
        w.unsent = n;
        w.since = now;
        continue;
      }
      if (now - w.since < writeMs) continue;
      watched.delete(socket);
      log.warn(
        { remoteAddress: socket.remoteAddress, unsentBytes: n, timeoutMs: writeMs },
        `write timeout: the client read nothing for ${writeMs} ms (write): closed the connection and freed its ${n} unsent bytes`,
      );
      socket.destroy();
    }
  }, every);
  timer.unref();
  server.once('close', () => clearInterval(timer));
}
