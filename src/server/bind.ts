// Binds the listening socket before PHP boots, so that a port already in use (or an address
// not on this host) fails fast with a clear message instead of after the worker file has run.
// The bound handle is then given to Fastify's server (Node's `listen({ handle })`): one bind,
// no race. Connections that arrive while PHP boots are accepted paused and handed to that
// server once it listens, so they are served, not left hanging.
import type { Server } from 'node:http';
import net from 'node:net';

import { PhpasyncError } from './errors.js';
import { closeOnceAccepted } from './listener-close.js';

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another server listens there)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this host',
};

export interface BoundListener {
  /** The bound libuv handle, for `listen({ handle })`. */
  readonly handle: unknown;
  /** The port bound (the ephemeral one for port 0). */
  readonly port: number;
  /** Hands the connections accepted so far to `server`, which now listens on the handle. */
  adopt(server: Server): void;
  /** Hands every connection, those accepted so far and those to come, to `server` (a second
   * address of the same server, which listens elsewhere). */
  forward(server: Server): void;
  /** Closes the socket and every connection accepted so far and not handed over (startup
   * failed, or shutdown once forwarding). */
  close(): void;
}

/** PHPASYNC_LISTEN with the reason, for a failed listen on host:port. */
export function listenError(host: string, port: number, err: unknown): PhpasyncError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new PhpasyncError('PHPASYNC_LISTEN', [shown, `${REASONS[code] ?? (err as Error).message}${code ? ` (${code})` : ''}`]);
}

/** Listens on host:port; rejects with PHPASYNC_LISTEN and the reason. */
export async function bindListener(host: string, port: number): Promise<BoundListener> {
  const early: net.Socket[] = [];
  let target: Server | undefined;
  let closing = false;
  // Paused: nothing is read before the HTTP server takes the socket over.
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    if (target) {
      target.emit('connection', socket);
      socket.resume();
      return;
    }
    early.push(socket);
    socket.once('close', () => early.splice(early.indexOf(socket) >>> 0, 1));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw listenError(host, port, err);
  }
  const bound: BoundListener = {
    handle: (server as unknown as { _handle: unknown })._handle,
    port: (server.address() as net.AddressInfo).port,
    forward(http) {
      target = http;
      bound.adopt(http);
    },
    adopt(http) {
      for (const socket of early.splice(0)) {
        socket.removeAllListeners('close');
        http.emit('connection', socket);
        socket.resume();
      }
    },
    close() {
      for (const socket of early.splice(0)) socket.destroy();
      if (closing) return;
      closing = true;
      // Forwarding, connections still queued are served by the target: accept them first.
      if (target) closeOnceAccepted(server, () => server.close());
      else server.close();
    },
  };
  return bound;
}
