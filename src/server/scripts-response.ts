// A classic-scripts process's side of one response on the channel to the front
// (src/server/scripts-channel.ts): the engine (src/server/php-engine.ts) writes to it as to a
// Node ServerResponse, and each call becomes a frame to the front, which writes the client's
// response. A Writable, so the engine's `encode` compressor can pipe into it as into a socket.
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';

import type { FastifyReply } from 'fastify';

import { corked, Frame, frameHead, headPayload, type ReqMeta } from './scripts-channel.js';

/** The status of a response PHP ended without a head of its own. */
const OK = 200;

/** Where the request's site index rides on the request object the engine sees (its `encode`). */
export const SITE = Symbol('phpasync.classicSite');


type Headers = readonly string[] | Record<string, string | number | readonly string[]> | undefined;

function flat(h: Headers): string[] {
  if (h === undefined) return [];
  if (Array.isArray(h)) return h as string[];
  const out: string[] = [];
  for (const [name, v] of Object.entries(h as Record<string, string | number | readonly string[]>)) {
    if (Array.isArray(v)) for (const x of v) out.push(name, String(x));
    else out.push(name, String(v));
  }
  return out;
}

export class HopResponse extends Writable {
  headersSent = false;
  statusCode = 200;
  /** The engine sets it when it answers 500 in place of a refused no-body head. */
  _hasBody = true;
  /** hasRequestBehind() looks here: no pipelining on the channel. */
  req: { socket: null } = { socket: null };
  /** The client is gone (ABORT, or the channel closed): nothing more is sent. */
  private gone = false;
  /** PAUSE: write callbacks held until RESUME (PHP waits on them for streamed output). */
  private paused = false;
  private held: (() => void)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly id: number,
  ) {
    super();
    // A failed write means the channel is gone: 'close' says so to the engine, no 'error'.
    this.on('error', () => {});
  }

  private frame(type: Frame, payload?: Uint8Array, cb?: () => void): void {
    const s = corked(this.socket);
    s.write(frameHead(type, this.id, payload?.length ?? 0));
    if (payload) s.write(payload, cb);
    else cb?.();
  }

  writeHead(status: number, reasonOrHeaders?: string | Headers, headers?: Headers): this {
    const list = flat(typeof reasonOrHeaders === 'string' ? headers : reasonOrHeaders);
    this.headersSent = true;
    this.statusCode = status;
    if (!this.gone) this.frame(Frame.HEAD, headPayload(status, list));
    return this;
  }

  getHeaderNames(): string[] {
    return [];
  }

  removeHeader(): void {}

  flushHeaders(): void {
    if (!this.gone) this.frame(Frame.FLUSH);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.gone) return cb();
    // The callback once the channel took the bytes (PHP's buffer may be handed back then), and
    // not before the front said its client reads again.
    this.frame(Frame.DATA, chunk, () => {
      if (this.paused) this.held.push(() => cb());
      else cb();
    });
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.headersSent) this.writeHead(OK, []);
    if (!this.gone) this.frame(Frame.END);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed before its end (PHP aborted after the head, a refused frame): the client's
    // connection is cut.
    if (!this.gone && !this.writableFinished) this.frame(Frame.CUT);
    this.gone = true;
    this.resume();
    cb(err);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const f of this.held.splice(0)) f();
  }

  /** The front's client went away, or the channel closed. */
  clientGone(): void {
    this.gone = true;
    this.destroy();
  }
}

/** What the engine needs of a Fastify reply, for a request that came over the channel. */
export function hopReply(res: HopResponse, meta: ReqMeta): FastifyReply {
  // The engine reads the method (HEAD), the HTTP version (1xx heads: dropped for HTTP/1.0,
  // which is what the front's own head writing cannot carry through yet), accept-encoding
  // (`encode`) and the site.
  const req = { method: meta.method, httpVersionMajor: 1, httpVersionMinor: 0, headers: meta.acceptEncoding === null ? {} : { 'accept-encoding': meta.acceptEncoding }, [SITE]: meta.site };
  return { raw: res, request: { id: meta.reqId, method: meta.method, raw: req }, getHeaders: () => ({}) } as unknown as FastifyReply;
}
