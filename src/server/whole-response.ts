// A whole response (head and body in one frame) written to its socket in one write, the head
// built here. ServerResponse's writeHead() + end() cost more for the same bytes: every header
// checked and matched again, then the head and an empty chunk written through a corked
// socket (a writev of two). The bytes are the ones Node would send: the list's headers in
// order, then Date, Connection and Keep-Alive as _storeHeader() writes them. Anything off that
// plain path (a header Node reacts to, a byte it would refuse, a connection not kept alive,
// a socket with bytes still queued, headers set on the response itself, its methods wrapped)
// returns false and takes writeHead() + end().
import { ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/** ServerResponse's own fields this reads and sets (Node 20's lib/_http_outgoing.js). */
interface ResponseInternals {
  _header: string | null;
  _headerSent: boolean;
  _keepAliveTimeout: number;
  _defaultKeepAlive: boolean;
  _maxRequestsPerSocket: number | undefined;
  maxRequestsOnConnectionReached: boolean;
  shouldKeepAlive: boolean;
  sendDate: boolean;
  outputData: unknown[];
  _hasBody: boolean;
  _expect_continue: boolean;
  _sent100: boolean;
}

/** Where a response keeps the headers set on it with setHeader() (a hook of the app's, helmet's):
 * writeHead() merges them into its list. Found on the first response (Node's kOutHeaders); a
 * Node without it never takes this path. */
let outHeadersKey: symbol | null | undefined;
function hasOwnHeaders(res: ServerResponse): boolean {
  if (outHeadersKey === undefined) outHeadersKey = Object.getOwnPropertySymbols(res).find((k) => k.description === 'kOutHeaders') ?? null;
  return outHeadersKey === null || (res as unknown as Record<symbol, unknown>)[outHeadersKey] != null;
}

/** Node's own methods: a response whose writeHead/write/end were wrapped (the access log counts
 * bytes and headers there) is written through them. */
const { writeHead, write, end } = ServerResponse.prototype;

/** A header name is a token (RFC 9110 §5.6.2), as Node's checkIsHttpToken requires. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A value Node's checkInvalidHeaderChar lets through: tab, visible ASCII, obs-text. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Names _storeHeader() reacts to (matchHeader): those heads keep Node's path. */
function reactsTo(name: string): boolean {
  if (name.length < 4 || name.length > 17) return false;
  switch (name.toLowerCase()) {
    case 'connection':
    case 'transfer-encoding':
    case 'date':
    case 'expect':
    case 'trailer':
    case 'keep-alive':
      return true;
  }
  return false;
}

/** The Date header's value, made once a second (Node's utcDate() is internal). */
let dateSecond = -1;
let dateValue = '';
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/**
 * Writes status, headers (flat list, framing done: Content-Length last of PHP's) and body (a
 * latin1 string, one char per byte; undefined: not one, take Node's path) as one write, and
 * ends `res` without another. False when the response must take writeHead().
 */
export function writeWhole(
  res: ServerResponse,
  status: number,
  headers: readonly string[],
  body: string | undefined,
  done: ((err?: Error | null) => void) | undefined,
): boolean {
  const r = res as unknown as ResponseInternals;
  const socket = res.socket as Socket | null;
  if (
    body === undefined ||
    socket === null ||
    socket.destroyed ||
    !socket.writable ||
    res.writeHead !== writeHead ||
    res.write !== write ||
    res.end !== end ||
    hasOwnHeaders(res) ||
    socket._httpMessage !== res ||
    socket.writableLength !== 0 ||
    r._header !== null ||
    r.outputData.length !== 0 ||
    !r.shouldKeepAlive ||
    // writeHead() drops keep-alive when a client expecting 100 Continue was not sent it.
    (r._expect_continue && !r._sent100) ||
    !r._hasBody ||
    r.maxRequestsOnConnectionReached ||
    !r._defaultKeepAlive ||
    !r.sendDate ||
    res.req.httpVersionMinor !== 1 ||
    res.req.httpVersionMajor !== 1
  ) {
    return false;
  }
  const reason = STATUS_CODES[status];
  if (reason === undefined) return false;
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  let framed = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name) || BAD_VALUE.test(value) || reactsTo(name)) return false;
    if (name.length === 14 && name.toLowerCase() === 'content-length') framed = true;
    head += `${name}: ${value}\r\n`;
  }
  // The body's end is its length: without one, Node's path chunks it or closes after it.
  if (!framed) return false;
  head += `Date: ${utcDate()}\r\nConnection: keep-alive\r\n`;
  if (r._keepAliveTimeout) {
    const max = (r._maxRequestsPerSocket ?? 0) > 0 ? `, max=${r._maxRequestsPerSocket}` : '';
    head += `Keep-Alive: timeout=${Math.floor(r._keepAliveTimeout / 1000)}${max}\r\n`;
  }
  head += '\r\n';
  res.statusCode = status;
  res.statusMessage = reason;
  // What writeHead() would have left: the head stored and sent. end() then writes nothing
  // (once the socket has taken these bytes) and finishes the response as usual.
  r._header = head;
  r._headerSent = true;
  socket.write(head + body, 'latin1', done);
  res.end();
  return true;
}

declare module 'node:net' {
  interface Socket {
    /** The response the server is writing on this connection (Node's _http_server.js). */
    _httpMessage?: unknown;
  }
}
