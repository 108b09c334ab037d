// HTTP/1.1 pipelining while the server drains: a response may say `Connection: close` only if
// no request was read after it on the same connection, or the answer queued behind it (a 503
// from Fastify, or PHP's own) would be dropped when the connection closes.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const LATEST = Symbol('phpasync.latestRequest');

type TrackedSocket = Socket & { [LATEST]?: IncomingMessage };

/** Remembers, per connection, the request the server read last (in the order it read them). */
export function trackLatestRequest(server: Server): void {
  server.on('request', markLatestRequest);
}

/** What trackLatestRequest's listener does, for a request dispatched before the listeners run. */
export function markLatestRequest(req: IncomingMessage): void {
  (req.socket as TrackedSocket)[LATEST] = req;
}

/** True when another request was read on this response's connection after its own request. */
export function hasRequestBehind(res: ServerResponse): boolean {
  const latest = (res.req.socket as TrackedSocket | null)?.[LATEST];
  return latest !== undefined && latest !== res.req;
}
