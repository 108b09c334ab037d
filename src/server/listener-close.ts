// Closing a listening socket makes the kernel reset every connection it completed on that
// socket that the server has not accepted yet: their clients get ECONNRESET on a request the
// server never read. On a loaded machine a burst lands in the very turn that closes (seen:
// five clients at once, whose SYNs had been dropped and were retransmitted together). So the
// socket is closed in an event-loop turn that finds its accept queue empty; until then each
// turn's poll phase accepts what waits, and those connections are served (503 + close once the
// server is closing). A flood of new connections holds the close off ACCEPT_QUEUE_MAX_MS at most.
import type net from 'node:net';

import { listenPending } from '../native/index.js';

/** Longest wait for an empty accept queue before a listening socket is closed anyway. */
export const ACCEPT_QUEUE_MAX_MS = 1000;

/** Calls `close` (which closes `server`'s listening socket) once no connection waits to be
 * accepted on it, or after ACCEPT_QUEUE_MAX_MS. */
export function closeOnceAccepted(server: net.Server, close: () => void): void {
  const fd = (server as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    close();
    return;
  }
  const until = Date.now() + ACCEPT_QUEUE_MAX_MS;
  const attempt = (): void => {
    if (server.listening && listenPending(fd) === 1 && Date.now() < until) setImmediate(attempt);
    else close();
  };
  attempt();
}
