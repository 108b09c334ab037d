// Classic scripts next to a worker: the channel between the front process and one
// classic-scripts process (src/server/scripts-pool.ts writes requests, src/server/scripts-child.ts
// answers). One unix-socket connection in a 0700 directory only the front knows carries every
// request of that child at once, each a run of length-prefixed frames tagged with the request's
// id: cheaper than HTTP, which was parsed twice more per request (a second Fastify request in
// the child, undici's parser in the front).
//
// A frame: u32 length (of what follows), u8 type, u32 request id, payload. The two small
// structured payloads are JSON (V8's own, cheaper here than a JS msgpack codec; header values
// are strings of one char per byte, which JSON carries as they are).
// - REQ (front -> child): u32 meta length, meta (JSON [reqId, site, method, httpMajor,
//   accept-encoding | null, bodyAt, envelope length, has body]), the request envelope as PHP
//   takes it (src/server/envelope.ts: the client's address, port, scheme, HTTP version and the
//   script the front resolved are in it), then the body.
// - ABORT (front -> child): the client went away (connection_aborted()).
// - PAUSE / RESUME (front -> child): the client reads slower than the script writes: the
//   child holds its write callbacks (PHP waits on them for streamed output) until RESUME.
// - HEAD (child -> front): JSON [status, [name, value, ...]], framed by the child's engine.
// - DATA: body bytes. FLUSH: the head goes out now (flush() before any body). END: done.
// - CUT: the response ends without its end (PHP aborted after the head): the client's
//   connection is closed.

import type { Socket } from 'node:net';

import { PhpasyncError } from './errors.js';

/** A client's header of this name is dropped: it named the private header of the HTTP hop this
 * channel replaced, and applications may test for it. */
export const CLASSIC_HEADER = 'x-phpasync-classic';

export const enum Frame {
  REQ = 1,
  ABORT = 2,
  PAUSE = 3,
  RESUME = 4,
  HEAD = 10,
  DATA = 11,
  FLUSH = 12,
  END = 13,
  CUT = 14,
}

/** The largest frame either side takes (a request body is at most request_body's max_size,
 * whose range ends below this). */
export const MAX_FRAME = 0x7fff_ffff;

/** What the child needs besides the envelope: the front's request id, the site (its
 * `encode`), what the response's framing depends on. */
export interface ReqMeta {
  reqId: string;
  site: number;
  method: string;
  httpMajor: number;
  acceptEncoding: string | null;
  bodyAt: number;
}

const CORKED = Symbol('phpasync.corked');
type Channel = Socket & { [CORKED]?: boolean };

function uncork(s: Channel): void {
  s[CORKED] = false;
  s.uncork();
}

/** The channel, corked until the end of this turn of the event loop: the frames of every
 * request read in one turn (front), or of one batch of PHP's frames (child), leave in one write.
 * setImmediate, not nextTick: PHP's frames reach JS from the addon outside any callback scope,
 * where the nextTick queue waits for the next I/O callback, which may never come (every
 * request of the child waiting for its answer). */
export function corked(s: Socket): Socket {
  const c = s as Channel;
  if (!c[CORKED]) {
    c[CORKED] = true;
    c.cork();
    setImmediate(uncork, c);
  }
  return c;
}

/** A frame's 9-byte head. */
export function frameHead(type: Frame, id: number, payloadLength: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b.writeUInt32BE(payloadLength + 5, 0);
  b[4] = type;
  b.writeUInt32BE(id, 5);
  return b;
}

/** A REQ frame without its body (written after it, not copied): one buffer, its own copy of
 * the envelope (a view of a reused encoder buffer). */
export function reqFrame(id: number, meta: ReqMeta, envelope: Uint8Array, body: Buffer | undefined): Buffer {
  const m = Buffer.from(JSON.stringify([meta.reqId, meta.site, meta.method, meta.httpMajor, meta.acceptEncoding, meta.bodyAt, envelope.length, body !== undefined]));
  const bodyLength = body?.length ?? 0;
  const out = Buffer.allocUnsafe(9 + 4 + m.length + envelope.length);
  out.writeUInt32BE(5 + 4 + m.length + envelope.length + bodyLength, 0);
  out[4] = Frame.REQ;
  out.writeUInt32BE(id, 5);
  out.writeUInt32BE(m.length, 9);
  out.set(m, 13);
  out.set(envelope, 13 + m.length);
  return out;
}

export interface ParsedReq {
  meta: ReqMeta;
  envelope: Buffer;
  body: Buffer | null;
}

/** Undefined when the payload is not one reqFrame made. */
export function parseReq(p: Buffer): ParsedReq | undefined {
  if (p.length < 4) return undefined;
  const ml = p.readUInt32BE(0);
  if (4 + ml > p.length) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(p.toString('utf8', 4, 4 + ml));
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v.length !== 8) return undefined;
  const [reqId, site, method, httpMajor, acceptEncoding, bodyAt, envLength, hasBody] = v as unknown[];
  if (typeof reqId !== 'string' || typeof site !== 'number' || typeof method !== 'string' || typeof httpMajor !== 'number') return undefined;
  if ((acceptEncoding !== null && typeof acceptEncoding !== 'string') || typeof bodyAt !== 'number' || typeof envLength !== 'number') return undefined;
  const envEnd = 4 + ml + envLength;
  if (envEnd > p.length || bodyAt < 0 || bodyAt >= envLength) return undefined;
  return {
    meta: { reqId, site, method, httpMajor, acceptEncoding: acceptEncoding as string | null, bodyAt },
    envelope: p.subarray(4 + ml, envEnd),
    body: hasBody === true ? p.subarray(envEnd) : null,
  };
}

export function headPayload(status: number, headers: string[]): Buffer {
  return Buffer.from(JSON.stringify([status, headers]));
}

/** Undefined when the payload is not one headPayload made. */
export function parseHead(p: Buffer): { status: number; headers: string[] } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(p.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [status, headers] = v as unknown[];
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 999) return undefined;
  if (!Array.isArray(headers) || headers.length % 2 !== 0 || !headers.every((h) => typeof h === 'string')) return undefined;
  return { status, headers: headers as string[] };
}

/**
 * Cuts a byte stream into frames. Chunks are kept until a whole frame is there, then joined
 * once (a large body arriving in many chunks is not copied again per chunk). The payload given
 * to onFrame is a view: valid as long as the caller keeps it.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;
  /** The length of the frame being gathered (its 4-byte prefix included), or 0 when unknown. */
  private need = 0;

  constructor(private readonly onFrame: (type: number, id: number, payload: Buffer) => void) {}

  /** Throws PHPASYNC_CLASSIC_CHANNEL on a length no writer of this channel makes. */
  push(chunk: Buffer): void {
    if (this.have === 0) {
      this.parse(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.need === 0 && this.have >= 4) this.need = this.lengthOf(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.have), 0);
    if (this.need !== 0 && this.have < this.need) return;
    if (this.need === 0) return;
    const all = Buffer.concat(this.chunks, this.have);
    this.chunks = [];
    this.have = 0;
    this.need = 0;
    this.parse(all);
  }

  private lengthOf(b: Buffer, off: number): number {
    const len = b.readUInt32BE(off);
    if (len < 5 || len > MAX_FRAME) throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`a frame of ${len} bytes`]);
    return len + 4;
  }

  private parse(b: Buffer): void {
    let off = 0;
    while (b.length - off >= 4) {
      const total = this.lengthOf(b, off);
      if (b.length - off < total) {
        this.need = total;
        break;
      }
      this.onFrame(b[off + 4]!, b.readUInt32BE(off + 5), b.subarray(off + 9, off + total));
      off += total;
    }
    if (off < b.length) {
      this.chunks = [b.subarray(off)];
      this.have = b.length - off;
    }
  }
}
