// PhpEngine: the JS face of the PHP threads. Starts them, submits requests, turns frames
// from PHP into HTTP responses, and hands zero-copy buffers back once the socket is done.
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';

import type { FastifyBaseLogger, FastifyReply } from 'fastify';

import { MAX_WAIT_MS, THREAD_JOIN_MS, type EngineOptions } from '../config/defaults.js';
import {
  bridgeConstants,
  createEngine,
  type BodyChunk,
  type BridgeConstants,
  type EngineStats,
  type NativeEngine,
} from '../native/index.js';
import { encodeInto, flushEncoded, type ResponseEncoder } from './encode.js';
import type { EncodedEnvelope } from './envelope.js';
import { httpAnswer, PhpasyncError, type ErrorCode } from './errors.js';
import { addHookHeaders } from './hook-headers.js';
import { forHttp2, frameHeaders, statusHasNoBody } from './framing.js';
import { writeInformational } from './informational.js';
import { InFlightTable } from './inflight.js';
import { latencyTrace } from './latency-trace.js';
import type { ServerMetrics } from './metrics.js';
import { hasRequestBehind } from './pipelining.js';
import { writeWhole } from './whole-response.js';

/** A response being written: its reply and the release handles of frames not yet written. */
interface InFlight {
  engine: PhpEngine;
  id: number;
  reply: FastifyReply;
  /** The PHP thread the request went to (cancel() needs it). */
  thread: number;
  /** Created with the first zero-copy or streamed frame: most responses never need one. */
  handles: Set<number> | null;
  closeHooked: boolean;
  /** The compressor the body goes through (`encode`), or null when it goes to res as is. */
  sink: import('node:zlib').Gzip | import('node:zlib').BrotliCompress | null;
}

/** Added to submit()'s thread index when the request's wake was left to flushWakes(). */
const WAKE_DEFERRED = 1 << 16;

const IN_FLIGHT = Symbol('phpasync.inFlight');
type TrackedResponse = ServerResponse & { [IN_FLIGHT]?: InFlight };

/** A whole frame's body as one string ('' for none), or undefined when a chunk is a Buffer
 * (a block sent without a copy: Node's path writes it as is). */
function bodyText(body: BodyChunk | BodyChunk[] | undefined): string | undefined {
  if (body === undefined) return '';
  if (typeof body === 'string') return body;
  if (!Array.isArray(body)) return undefined;
  let text = '';
  for (const chunk of body) {
    if (typeof chunk !== 'string') return undefined;
    text += chunk;
  }
  return text;
}

/** 'close' of every response handed to PHP: one function for all, no closure per request. */
function onResponseClose(this: TrackedResponse): void {
  const f = this[IN_FLIGHT];
  if (f) f.engine.clientGone(f);
}

export class PhpEngine {
  private readonly native: NativeEngine;
  /** The bridge's frame flags, event kinds and log levels. */
  private readonly k: BridgeConstants;
  private readonly pending = new InFlightTable<InFlight>();
  private nextId = 0;
  private readyThreads = 0;
  private exitedThreads = 0;
  private startup?: { resolve: () => void; reject: (e: Error) => void };
  private exited?: () => void;
  private readonly threads: number;
  private stopped = false;
  /** Requests waiting for a ring slot (submit), oldest first. */
  private readonly waiting: { envelope: EncodedEnvelope; body: Buffer | null; reply: FastifyReply; arrived: number; deadline: number }[] = [];
  private retryScheduled = false;
  /** How long a request may wait for a ring slot when every ring is full; 0: 503 at once. */
  maxWaitMs: number = MAX_WAIT_MS;
  /** At most this many wait: as many as the PHP threads could hold in flight. */
  private readonly maxWaiting: number;
  /** Set when the server starts closing: responses then close their connection, so
   * keep-alive clients do not hold the shutdown until their idle timeout; all but one whose
   * connection has a pipelined request queued behind it: that one's answer closes it. */
  closing = false;
  /** Set when the server serves metrics (src/server/metrics.ts): counts what it sees. */
  metrics: ServerMetrics | undefined;
  /** Called when a PHP thread gives up after it had started (worker file keeps failing). */
  onFatal?: (message: string) => void;
  /** The `encode` of a request's site, when some site has one. */
  encoderFor?: (req: IncomingMessage) => ResponseEncoder | undefined;
  private started = false;
  /** Whole responses go out through writeWhole() (PHPASYNC_WHOLE_RESPONSE=0: always through
   * writeHead() + end(), for measurements and the tests that compare both). */
  private readonly wholeWrites = process.env.PHPASYNC_WHOLE_RESPONSE !== '0';
  private wholeWritten = 0;

  private constructor(
    options: EngineOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.threads = options.threads;
    this.maxWaiting = options.threads * options.maxCoroutines;
    this.k = bridgeConstants();
    const { phpIni, env, mode, ...rest } = options;
    const modes = { 'async-worker': this.k.MODE_ASYNC_WORKER, 'classic-worker': this.k.MODE_CLASSIC_WORKER, scripts: this.k.MODE_SCRIPTS };
    this.native = createEngine({
      ...rest,
      mode: modes[mode],
      iniEntries: Object.entries(phpIni)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      onFrame: (id, flags, status, headers, body, handle, error) => this.onFrame(id, flags, status, headers, body, handle, error),
      onEvent: (kind, thread, level, requestId, message) => this.onEvent(kind, thread, level, requestId, message),
    });
  }

  /** Starts the PHP threads; resolves when every one ran the worker file and registered a handler. */
  static async start(options: EngineOptions, log: FastifyBaseLogger): Promise<PhpEngine> {
    const engine = new PhpEngine(options, log);
    // Allowed (FrankenPHP's num_threads may exceed the cores too; a thread mostly waiting on
    // I/O costs little), but CPU-bound threads beyond the core count only take turns.
    const cpus = os.availableParallelism();
    if (options.threads > cpus) {
      log.warn({ threads: options.threads, cpus }, 'more PHP threads than CPUs: CPU-bound handlers will take turns on the cores');
    }
    await new Promise<void>((resolve, reject) => {
      engine.startup = { resolve, reject };
      engine.native.start();
    });
    log.info({ workerFile: options.workerFile, threads: options.threads, bufferSize: options.bufferSize }, 'PHP worker ready');
    return engine;
  }

  /**
   * Hands the request to a PHP thread, or answers it 503 + Retry-After. When every ring is full
   * the request waits, in arrival order, up to maxWaitMs for a slot (FrankenPHP's max_wait_time):
   * a burst read in one event-loop turn would otherwise overrun a ring before its PHP thread
   * has even woken, on a server that is far from busy. PHP is woken at once for it.
   */
  submit(envelope: EncodedEnvelope, body: Buffer | null, reply: FastifyReply): void {
    const arrived = performance.now();
    if (this.waiting.length === 0 && this.trySubmit(envelope, body, reply, arrived)) return;
    if (this.stopped || this.maxWaitMs <= 0 || this.waiting.length >= this.maxWaiting) {
      this.refuseBusy(reply);
      return;
    }
    // Its own copy: the envelope is a view of the encoder's buffer, reused by the next request.
    // Taken from Node's buffer pool: slice() would give each copy an ArrayBuffer of its own
    // (0.7-1.5 us per copy of 80-600 bytes against 0.17 us, measured on Node 20).
    latencyTrace?.count('waitedForRing');
    const bytes = Buffer.allocUnsafe(envelope.bytes.length);
    bytes.set(envelope.bytes);
    this.waiting.push({ envelope: { bytes, bodyAt: envelope.bodyAt }, body, reply, arrived, deadline: arrived + this.maxWaitMs });
    this.native.flushWakes();
    this.scheduleRetry(true);
  }

  private trySubmit(envelope: EncodedEnvelope, body: Buffer | null, reply: FastifyReply, arrived: number): boolean {
    const id = ++this.nextId;
    let t = this.native.submit(id, envelope.bytes, envelope.bodyAt, body);
    if (t < 0) return false;
    if (latencyTrace) this.traceSubmitted(id, arrived, t >= WAKE_DEFERRED);
    if (t >= WAKE_DEFERRED) {
      t -= WAKE_DEFERRED;
      if (!this.turnEndScheduled) {
        this.turnEndScheduled = true;
        setImmediate(this.turnEnd);
      }
    }
    const f: InFlight = { engine: this, id, reply, thread: t, handles: null, closeHooked: false, sink: null };
    this.pending.set(id, f);
    const res = reply.raw as TrackedResponse;
    res[IN_FLIGHT] = f;
    res.on('close', onResponseClose);
    const metrics = this.metrics;
    if (metrics) res.once('finish', () => metrics.answered(res.statusCode, (performance.now() - arrived) / 1000));
    return true;
  }

  /** PHPASYNC_TRACE_LATENCY only: when each request was handed to PHP (id -> ms). */
  private readonly traceT1 = new Map<number, number>();
  private traceSubmitted(id: number, arrived: number, deferred: boolean): void {
    const now = performance.now();
    const t = latencyTrace!;
    t.count(deferred ? 'wakeDeferred' : 'wakeNow');
    t.add('arrivedToRing', (now - arrived) * 1000);
    this.traceT1.set(id, now);
  }
  private traceFrame(id: number, p: InFlight | undefined): void {
    const t1 = this.traceT1.get(id);
    if (t1 === undefined || !p) return;
    this.traceT1.delete(id);
    const now = performance.now();
    latencyTrace!.add('ringToFirstFrame', (now - t1) * 1000);
    p.reply.raw.once('finish', () => latencyTrace!.add('frameToFinish', (performance.now() - now) * 1000));
  }

  private scheduleRetry(soon: boolean): void {
    if (this.retryScheduled) return;
    this.retryScheduled = true;
    // The first retry right after PHP was woken; then once a millisecond, so that a PHP thread
    // that stays busy does not make this thread spin.
    latencyTrace?.count(soon ? 'retryImmediate' : 'retryTimer1ms');
    if (soon) setImmediate(this.retryWaiting);
    else setTimeout(this.retryWaiting, 1);
  }

  /** Set while the end of this event-loop turn is scheduled (turnEnd). */
  private turnEndScheduled = false;
  /** After the turn's I/O: submit() wakes a parked PHP thread for the first request of a burst
   * only and says so when it deferred a wake (one eventfd write, on the main thread, per burst
   * rather than per request, see addon/engine.cc); this wakes it for the rest. */
  private readonly turnEnd = (): void => {
    this.turnEndScheduled = false;
    latencyTrace?.count('turnEnd');
    this.native.flushWakes();
  };

  private readonly retryWaiting = (): void => {
    this.retryScheduled = false;
    this.submitWaiting();
    if (this.waiting.length > 0) this.scheduleRetry(false);
  };

  /** Set while submitWaitingAfterFrames is queued. */
  private afterFramesQueued = false;
  /** A request ended: its PHP thread took jobs off its ring since, so requests waiting for a
   * slot are tried once after this batch of frames rather than at the next 1 ms retry.
   * Measured (hello, c=50, ring 20): 12 % of requests waited for a slot, p99 3.2 ms. */
  private readonly submitWaitingAfterFrames = (): void => {
    this.afterFramesQueued = false;
    this.submitWaiting();
  };

  /** Hands waiting requests to PHP in arrival order while a ring has room; answers 503 those
   * past their deadline. The caller keeps a retry scheduled while some still wait. */
  private submitWaiting(): void {
    const now = performance.now();
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!;
      if (w.reply.raw.destroyed) {
        this.waiting.shift(); // its client left while it waited
      } else if (!this.stopped && this.trySubmit(w.envelope, w.body, w.reply, w.arrived)) {
        this.waiting.shift();
      } else if (this.stopped || w.deadline <= now) {
        this.waiting.shift();
        this.refuseBusy(w.reply);
      } else {
        break;
      }
    }
  }

  /** 503 + Retry-After: every ring stayed full (the connection stays open). */
  private refuseBusy(reply: FastifyReply): void {
    this.metrics?.rejectedOne();
    const res = reply.raw;
    if (res.destroyed || res.writableEnded) return;
    const a = httpAnswer('PHPASYNC_BUSY');
    res.writeHead(a.status, { 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(a.body);
  }

  /** The response's connection closed (onResponseClose). Before the response ended, the client
   * went away: PHP drops the request or interrupts its handler; frames still arriving
   * for it are dropped and released in onFrame. */
  clientGone(f: InFlight): void {
    if (!this.pending.has(f.id) || f.reply.raw.writableEnded) return;
    // Forget it now: a request dropped before it started sends no frame at all.
    this.pending.delete(f.id);
    this.traceT1.delete(f.id);
    if (!this.stopped) this.native.cancel(f.thread, f.id);
  }

  stats(): EngineStats & { pendingRequests: number; wholeWritten: number } {
    return { ...this.native.stats(), pendingRequests: this.pending.size, wholeWritten: this.wholeWritten };
  }

  /** Interrupts every request still running (drain timeout): each is answered 503 and its
   * connection closed; PHP drops or interrupts the handlers. Returns how many there were. */
  cancelAll(): number {
    let n = 0;
    for (const w of this.waiting.splice(0)) {
      n++;
      this.answerUnavailable(w.reply, 'PHPASYNC_SHUTTING_DOWN');
    }
    for (const [id, p] of this.pending.entries()) {
      n++;
      this.answerUnavailable(p.reply, 'PHPASYNC_SHUTTING_DOWN');
      this.pending.delete(id);
      this.native.cancel(p.thread, id);
    }
    return n;
  }

  /** Answers a request PHP will not answer (a 503 of the errors table), closing its connection. */
  private answerUnavailable(reply: FastifyReply, code: ErrorCode): void {
    const res = reply.raw;
    if (res.destroyed || res.writableEnded) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const a = httpAnswer(code);
    res.writeHead(a.status, { 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
    res.end(a.body);
  }

  /** Sends the sentinel to every thread and waits until they have shut PHP down. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const st = this.native.stats();
    latencyTrace?.write({ engineStats: st });
    this.log.debug({ dispatches: st.dispatches, frames: st.framesDelivered }, 'PHP engine stopping');
    this.stopped = true;
    const done = new Promise<void>((resolve) => {
      this.exited = resolve;
      if (this.exitedThreads === this.threads) resolve();
    });
    this.native.stop();
    await done;
    this.native.join(THREAD_JOIN_MS);
  }

  private onEvent(kind: number, thread: number, level: number, requestId: number, message: string): void {
    switch (kind) {
      case this.k.EVENT_READY:
        if (++this.readyThreads === this.threads) {
          this.started = true;
          this.startup?.resolve();
        }
        return;
      case this.k.EVENT_FAILED:
        this.log.error({ thread }, message);
        if (this.started) {
          // A thread gave up after serving (its worker file keeps failing at restart): what it
          // still had queued is answered rather than lost, and the server goes down.
          for (const [id, { reply }] of this.pending.entries()) {
            this.answerUnavailable(reply, 'PHPASYNC_WORKER_GONE');
            this.pending.delete(id);
          }
          this.onFatal?.(message);
        }
        this.startup?.reject(new PhpasyncError('PHPASYNC_WORKER_START', [message]));
        // The thread exits on its own; stop the others so join() can finish.
        this.native.stop();
        return;
      case this.k.EVENT_LOG:
        this.logFromPhp(level, thread, requestId, message);
        return;
      case this.k.EVENT_EXITED:
        if (++this.exitedThreads === this.threads) {
          // Nothing can answer these any more: say so rather than leave the clients hanging.
          for (const [id, { reply }] of this.pending.entries()) {
            this.log.warn({ reqId: reply.request.id }, 'request unanswered when PHP stopped: answered 503');
            this.answerUnavailable(reply, 'PHPASYNC_SHUTTING_DOWN');
            this.pending.delete(id);
          }
          if (!this.stopped) this.native.join(THREAD_JOIN_MS);
          this.exited?.();
        }
        return;
    }
  }

  private logFromPhp(level: number, thread: number, requestId: number, message: string): void {
    // The restart lines come from php/embed/thread.c, the one place threads restart.
    if (this.metrics && message.includes(': restarting the interpreter')) this.metrics.restarted();
    const reply = requestId ? this.pending.get(requestId)?.reply : undefined;
    const fields = reply ? { reqId: reply.request.id, thread } : { thread };
    if (level >= this.k.LOG_ERROR) this.log.error(fields, message);
    else if (level >= this.k.LOG_WARN) this.log.warn(fields, message);
    else if (level >= this.k.LOG_INFO) this.log.info(fields, message);
    else if (level >= this.k.LOG_DEBUG) this.log.debug(fields, message);
  }

  /**
   * One frame of a response (see php/phpa_bridge.h). A HEAD|END frame is a whole response
   * with Content-Length; after flush() a HEAD frame (no Content-Length: chunked), body frames
   * and an END frame arrive in order. A frame with a handle (owned chunks, or a streamed
   * frame whose writing PHP waits for) is released once the socket has taken its last byte
   * (write/end callback) or the connection is gone ('close'), whichever comes first.
   */
  private onFrame(
    id: number,
    flags: number,
    status: number,
    headers: string | string[] | undefined,
    body: BodyChunk | BodyChunk[] | undefined,
    handle: number,
    error: string | undefined,
  ): void {
    const p = this.pending.get(id);
    if (latencyTrace) this.traceFrame(id, p);
    if (flags & this.k.FRAME_END) {
      this.pending.delete(id);
      // A microtask: runs once the addon's whole batch of frames was delivered.
      if (this.waiting.length > 0 && !this.afterFramesQueued) {
        this.afterFramesQueued = true;
        queueMicrotask(this.submitWaitingAfterFrames);
      }
    }
    const res = p?.reply.raw;
    if (!p || !res || res.destroyed || res.writableEnded) {
      // The client went away: nothing to send, but PHP's strings still come back.
      if (handle) this.native.release(handle, true);
      return;
    }
    if (error !== undefined) {
      this.frameFailed(p, flags, handle, false, `the addon could not deliver a response frame (${error})`);
      return;
    }
    // Node refuses some heads and bodies by throwing (writeHead: a Trailer header on a response
    // that is not chunked, a bad header byte PHP let through): that request fails alone.
    try {
      this.deliver(p, res, flags, status, typeof headers === 'string' ? headers.split('\0') : headers, body, handle);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const what = res.headersSent ? 'refused a response frame after the head was sent' : 'refused the response head';
      this.frameFailed(p, flags, handle, true, `Node ${what} (${e.code ?? e.name}: ${e.message})`);
    }
  }

  /** A frame could not be sent: the request is answered 500 (or its connection cut when its
   * head is out already), logged with its id, its buffers go back to PHP, and a handler still
   * streaming to it is interrupted. Nothing here may throw: other frames of the batch follow.
   * registered: deliver() put the handle in p.handles first thing (its done/'close' paths may
   * release it from there); otherwise nothing else knows it. */
  private frameFailed(p: InFlight, flags: number, handle: number, registered: boolean, why: string): void {
    const res = p.reply.raw;
    const headSent = res.headersSent;
    this.log.error({ reqId: p.reply.request.id, thread: p.thread }, `${why}: ${headSent ? 'connection closed' : 'answered 500'}`);
    if (!(flags & this.k.FRAME_END)) {
      this.pending.delete(p.id);
      if (!this.stopped) this.native.cancel(p.thread, p.id);
    }
    if (handle && (!registered || p.handles?.delete(handle))) this.native.release(handle, true);
    try {
      if (headSent) {
        res.destroy();
        return;
      }
      // writeHead() may have stored some of the refused headers before it threw.
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      const a = httpAnswer('PHPASYNC_FRAME');
      const head: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(a.body)) };
      if (this.closing && !hasRequestBehind(res)) head.Connection = 'close';
      // The reason too: the refused writeHead() already stored its status's ('OK').
      res.writeHead(a.status, a.reason, head);
      // A refused 204/304 head left Node's no-body mark set: the 500 would go out with its
      // Content-Length but without its text, and the client would wait for it.
      (res as unknown as { _hasBody: boolean })._hasBody = true;
      res.end(a.body);
    } catch {
      res.destroy();
    }
  }

  private deliver(
    p: InFlight,
    res: ServerResponse,
    flags: number,
    status: number,
    headers: string[] | undefined,
    body: BodyChunk | BodyChunk[] | undefined,
    handle: number,
  ): void {
    let done: ((err?: Error | null) => void) | undefined;
    if (handle) {
      const handles = (p.handles ??= new Set());
      handles.add(handle);
      if (!p.closeHooked) {
        p.closeHooked = true;
        res.once('close', () => {
          for (const h of handles) this.native.release(h, true);
          handles.clear();
        });
      }
      done = (err?: Error | null) => {
        if (handles.delete(handle)) this.native.release(handle, Boolean(err));
      };
    }
    if (flags & this.k.FRAME_ABORT) {
      // The status line is out already: closing the connection without the last chunk is the
      // only error left to send. destroySoon() lets what was written before go out first.
      const socket = res.socket;
      if (socket) socket.destroySoon();
      else res.destroy();
      return;
    }
    if (flags & this.k.FRAME_HEAD && status < 200) {
      // headers_send(103): an informational head; the response's own head comes later.
      writeInformational(p.reply.request.raw, res, status, headers ?? []);
      return;
    }
    if (flags & this.k.FRAME_HEAD) {
      let bodyLength: number | undefined;
      if (flags & this.k.FRAME_END) {
        bodyLength = 0;
        if (body) bodyLength = Array.isArray(body) ? body.reduce((a, b) => a + b.length, 0) : body.length;
      }
      const encoding = this.encoderFor?.(p.reply.request.raw)?.chooseForHead(p.reply.request.raw, status, headers ?? [], bodyLength ?? NaN);
      const framed = frameHeaders(headers ?? [], status, p.reply.request.method === 'HEAD', bodyLength);
      let list = framed.headers;
      if (encoding) {
        // The length framed is the plain body's (frameHeaders puts it last): the encoded one is chunked.
        if (list[list.length - 2] === 'Content-Length') list.length -= 2;
        list.push('Content-Encoding', encoding.name, 'Vary', 'Accept-Encoding');
      }
      if (framed.dropped !== null) {
        this.log.warn({ reqId: p.reply.request.id }, `framing header set by the application replaced by what is sent (${framed.dropped})`);
      }
      addHookHeaders(list, p.reply);
      if (this.closing && !hasRequestBehind(res)) list.push('Connection', 'close');
      if (p.reply.request.raw.httpVersionMajor === 2) list = forHttp2(list);
      else if (
        flags & this.k.FRAME_END &&
        !encoding &&
        bodyLength !== undefined &&
        !statusHasNoBody(status) &&
        this.wholeWrites &&
        writeWhole(res, status, list, bodyText(body), done)
      ) {
        this.wholeWritten++;
        return;
      }
      res.writeHead(status, list);
      if (encoding) p.sink = encodeInto(encoding, res);
    }
    const out = p.sink ?? res;
    if (flags & this.k.FRAME_END) {
      if (body === undefined) out.end(done);
      else if (!Array.isArray(body)) out.end(body, 'latin1', done);
      else {
        for (let i = 0; i < body.length - 1; i++) out.write(body[i]!, 'latin1');
        if (body.length > 0) out.end(body[body.length - 1]!, 'latin1', done);
        else out.end(done);
      }
      return;
    }
    if (body === undefined || (Array.isArray(body) && body.length === 0)) {
      if (p.sink) flushEncoded(p.sink);
      res.flushHeaders();
      done?.();
      return;
    }
    if (!Array.isArray(body)) out.write(body, 'latin1', done);
    else for (let i = 0; i < body.length; i++) out.write(body[i]!, 'latin1', i === body.length - 1 ? done : undefined);
    if (p.sink) flushEncoded(p.sink);
  }
}
