// The HTTP server's timeouts on https sites, where Node serves HTTP/2 and falls back to HTTP/1.1
// by ALPN. HTTP/1.1 over TLS runs Node's own checks (src/server/timeouts.ts sets them on this
// server too); they run at the server's connectionsCheckingInterval, set here. HTTP/2 has none:
//   read_header  a connection must complete its TLS handshake, and then open its first stream,
//                within it (a stream's headers come in one piece after that);
//   read_body    a stream's body must have arrived within it from the stream's start: 408 when
//                the head is not out yet, and the stream is reset either way;
//   idle         the session timeout (Fastify's http2SessionTimeout, given idle in run.ts):
//                a session without traffic for that long is closed gracefully (GOAWAY).
// write is watched for both by src/server/timeouts.ts, on the TLS connections. h2c streams get
// read_body too (applyH2ReadBody).
import type { Server } from 'node:http';
import http2 from 'node:http2';

import type { FastifyBaseLogger } from 'fastify';

import { httpAnswer } from './errors.js';
import type { EffectiveTimeouts } from './timeouts.js';

/** Whether all of a request's body has arrived (read or not). */
function bodyArrived(req: http2.Http2ServerRequest): boolean {
  const s = req.stream as http2.ServerHttp2Stream & { _readableState?: { ended?: boolean } };
  return s.endAfterHeaders || req.readableEnded || s.readableEnded || s._readableState?.ended === true || s.destroyed;
}

export function applyHttpsTimeouts(server: Server, e: EffectiveTimeouts, checkingMs: number, log: FastifyBaseLogger): void {
  // Read by Node when the server starts listening (its HTTP/1 fallback's checks).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = checkingMs;
  if (e.readHeaderMs > 0) {
    server.on('session', (session: http2.ServerHttp2Session) => {
      const timer = setTimeout(() => {
        log.warn({ remoteAddress: session.socket?.remoteAddress, timeoutMs: e.readHeaderMs }, `read timeout: no HTTP/2 request arrived within read_header (${e.readHeaderMs} ms): closed the connection`);
        session.destroy();
      }, e.readHeaderMs);
      timer.unref();
      session.once('stream', () => clearTimeout(timer));
      session.once('close', () => clearTimeout(timer));
    });
  }
  applyH2ReadBody(server, e.readBodyMs, log);
}

/** read_body for HTTP/2 streams (https, and h2c where the requests reach the same server). */
export function applyH2ReadBody(server: Server, readBodyMs: number, log: FastifyBaseLogger): void {
  if (readBodyMs <= 0) return;
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    if (req.httpVersionMajor !== 2 || bodyArrived(req)) return;
    const timer = setTimeout(() => {
      if (bodyArrived(req)) return;
      log.warn({ remoteAddress: req.socket?.remoteAddress, timeoutMs: readBodyMs }, `read timeout: the request body did not arrive within read_body (${readBodyMs} ms): answered 408 and reset the stream`);
      const reset = (): void => {
        if (!req.stream.destroyed) req.stream.close(http2.constants.NGHTTP2_NO_ERROR);
      };
      if (res.headersSent) return reset();
      const a = httpAnswer('PHPASYNC_READ_BODY_TIMEOUT');
      res.writeHead(a.status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(a.body, reset);
    }, readBodyMs);
    timer.unref();
    req.stream.once('close', () => clearTimeout(timer));
  });
}
