// Checks on the request line and head that Node's parser lets through and Go's net/http (so
// Caddy) refuses or normalises, run before Fastify routes the request:
// - a version other than HTTP/1.x: 505 (HTTP/2.0 over HTTP/1) or 400 (HTTP/0.9 form);
// - two Host headers: 400 (RFC 9112 §3.2);
// - an absolute-form target: PHP sees its path and query, and its authority as the Host
//   (RFC 9112 §3.2.2);
// - percent-encoded bytes that are not UTF-8 (/caf%E9): Fastify's router refuses to decode
//   them, PHP gets them as sent (the router sees them escaped once more); a malformed escape
//   in the path (/a%zz) is 400, as in Go;
// - Expect: 100-continue with a declared body over the limit: 413 without the 100.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import { httpAnswer, type ErrorCode } from './errors.js';

/** The target as the client sent it (origin form), when the router was given another. */
const PHP_TARGET = Symbol('phpasync.target');
type Tracked = IncomingMessage & { [PHP_TARGET]?: string };

/** The request target PHP must see: path and query as sent. */
export function phpTarget(req: IncomingMessage): string {
  return (req as Tracked)[PHP_TARGET] ?? req.url ?? '/';
}

function refuse(res: ServerResponse, code: ErrorCode, ...args: (string | number)[]): void {
  const { status, reason, body } = httpAnswer(code, ...args);
  res.shouldKeepAlive = false;
  res.writeHead(status, reason, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

/** Returns false when the request was answered here. */
function check(req: IncomingMessage, res: ServerResponse): boolean {
  // HTTP/2 comes through the same 'request' event from an h2 session (https sites, ALPN).
  if (req.httpVersionMajor !== 1 && !(req.httpVersionMajor === 2 && 'stream' in req)) {
    if (req.httpVersionMajor === 0) refuse(res, 'PHPASYNC_HTTP09');
    else refuse(res, 'PHPASYNC_HTTP_VERSION', req.httpVersion);
    return false;
  }
  // An HTTP/2 body has no Content-Length nor Transfer-Encoding to announce it; Fastify reads
  // a body only when one of them is there.
  if (req.httpVersionMajor === 2 && req.headers['content-length'] === undefined && !(req as unknown as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders) {
    req.headers['transfer-encoding'] = 'chunked';
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) {
    refuse(res, 'PHPASYNC_DUPLICATE_HOST');
    return false;
  }
  let url = req.url ?? '/';
  if (url[0] !== '/' && url !== '*') {
    // Absolute form: scheme "://" authority path-abempty [ "?" query ]
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)([^#]*)/.exec(url);
    if (!m) {
      refuse(res, 'PHPASYNC_BAD_TARGET');
      return false;
    }
    const authority = m[1]!.replace(/^.*@/, '');
    url = m[2]!.startsWith('/') ? m[2]! : `/${m[2]!}`;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') raw[i + 1] = authority;
    }
    if (hosts === 0) raw.push('Host', authority);
    req.headers.host = authority;
    req.url = url;
  }
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path.includes('%')) {
    if (/%(?![0-9a-fA-F]{2})/.test(path)) {
      refuse(res, 'PHPASYNC_BAD_ESCAPE');
      return false;
    }
    try {
      decodeURIComponent(path);
    } catch {
      // Route on the path escaped once more; PHP still gets the bytes sent.
      (req as Tracked)[PHP_TARGET] = url;
      req.url = path.replace(/%/g, '%25') + (q < 0 ? '' : url.slice(q));
    }
  }
  return true;
}

/**
 * Puts the checks in front of the server's 'request' listeners (Fastify's), and answers
 * Expect: 100-continue itself: 413 at once when the declared length is over bodyLimit.
 * direct: tried on each request that passed the checks; when it returns true it took the
 * request, and the listeners do not see it.
 */
export function guardRequests(server: Server, bodyLimit: number, direct?: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!check(req, res)) return;
    if (direct?.(req, res)) return;
    for (const l of listeners) l.call(server, req, res);
  });
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > bodyLimit) {
      refuse(res, 'PHPASYNC_EXPECT_TOO_LARGE', bodyLimit);
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
}
