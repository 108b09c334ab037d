// Classic scripts next to an async worker: the front process (the one serving HTTP, with the
// worker's PHP thread) hands each classic `.php` request to one of its classic-scripts processes
// (src/server/scripts-child.ts) and relays the answer. PHP starts once per process on an NTS
// PHP and a process has one PHP thread kind (php/embed/thread.c), so the two kinds cannot share
// a process there; a thread-safe PHP uses the same placement (see docs/classic-scripts.md).
//
// - The children start with the first classic request (a worker app that never runs a classic
//   script pays nothing), `count` of them, each one PHP thread, one script at a time.
// - A request goes to the ready child with the fewest requests in flight, over the one
//   connection the front holds to each child (a unix socket in a 0700 directory of its own):
//   the request envelope PHP takes (the client it came from and the script the front resolved
//   are in it) and the body, buffered (the front's body limit and read_body applied), as a
//   frame; the answer comes back as frames as the child writes it (flush() streams), many
//   requests at once, by id (scripts-channel.ts).
// - A child takes as many requests at once as its PHP thread's ring holds (buffer_size); the
//   front sends each to the child with the fewest in flight, and when every child is full the
//   request waits here, in arrival order, up to max_wait_time for one to finish: 503 after
//   that, as a server without a worker answers when its ring stays full. (Waiting here rather
//   than in the child: the child's deadline would also count the hops' scheduling delays.)
// - A child that dies is started again (with a doubling delay); the requests it held
//   are answered 502 (or cut, once their head went out); those arriving meanwhile wait for a
//   child up to CLASSIC_START_WAIT_MS, then 503. A client that goes away aborts its request in
//   the child (connection_aborted()).
// - Closing (SIGTERM's drain): the front's in-flight requests end first (Fastify's onClose comes
//   after them), then each child drains and exits; cancelAll() at the drain deadline.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';

import { CLASSIC_START_WAIT_MS, ENGINE } from '../config/defaults.js';
import type { PhpasyncConfig } from '../config/model.js';
import { allDirectives } from '../config/walk.js';
import { mustWaitTurn, whenTurnComes } from './connection-turns.js';
import { httpAnswer, PhpasyncError, type ErrorCode } from './errors.js';
import { addHookHeaders } from './hook-headers.js';
import { hasRequestBehind } from './pipelining.js';
import net from 'node:net';

import { encodeEnvelope } from './envelope.js';
import { CLASSIC_HEADER, corked, Frame, FrameReader, frameHead, parseHead, reqFrame } from './scripts-channel.js';
import type { FromClassic, ToClassic } from './scripts-child.js';
import type { ScriptTarget } from './scripts.js';

const CHILD_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'scripts-child.js');

/** A dead child's successor starts after a delay that doubles while children keep dying soon
 * after their start (a crash loop must not eat the CPU), from 0 once one lived HEALTHY_MS. */
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;
const HEALTHY_MS = 30_000;

/** How long a draining child may take past the drain time before it is killed. */
const EXIT_GRACE_MS = 5000;

/** Response headers the child's engine may set that the front sets itself: the front frames
 * its own response (and HTTP/2 forbids these); the request id is the front's (its hook header). */
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'x-request-id']);

declare module 'fastify' {
  interface FastifyInstance {
    /** The classic-scripts processes next to the worker, when the config has any. */
    classicScripts?: ClassicPool;
  }
}

const CLASSIC = Symbol('phpasync.classic');
type Marked = IncomingMessage & { [CLASSIC]?: { target: ScriptTarget; site: number } };

/** Marks a request as a classic script of site `site` (the routing decided; the preHandler sends it). */
export function markClassic(req: IncomingMessage, target: ScriptTarget, site: number): void {
  (req as Marked)[CLASSIC] = { target, site };
}

export function isClassic(req: IncomingMessage): boolean {
  return (req as Marked)[CLASSIC] !== undefined;
}

/** The config a classic-scripts process runs: the same sites, without the workers. */
export function withoutWorkers(config: PhpasyncConfig): PhpasyncConfig {
  const c = structuredClone(config);
  if (c.frankenphp) c.frankenphp.workers = [];
  for (const d of allDirectives(c)) {
    if (d.phpServer) d.phpServer.workers = [];
    if (d.php) d.php.workers = [];
  }
  // The front serves the admin endpoint and its metrics; a child listens nowhere else.
  if (c.global) {
    delete c.global.admin;
    delete c.global.metrics;
  }
  return c;
}

interface Child {
  id: number;
  proc?: ChildProcess;
  /** The channel to the child: every request in flight on it, by id. */
  channel?: net.Socket;
  open: Map<number, Open>;
  nextId: number;
  socketPath: string;
  ready: boolean;
  startedAt: number;
  inflight: number;
  /** The delay before the next restart (see FIRST_DELAY_MS). */
  nextDelay: number;
  timer?: NodeJS.Timeout;
}

interface Waiting {
  request: FastifyRequest;
  reply: FastifyReply;
  timer: NodeJS.Timeout | undefined;
}

/** Requests a child takes at once: its PHP thread's ring (scripts mode's buffer_size). */
const PER_CHILD = ENGINE.bufferSize.default;

interface Open {
  reply: FastifyReply;
  /** Tells the child the client went away (nothing once the request settled). */
  abort: () => void;
  /** The child's answer: a frame for this request, or the channel gone (undefined). */
  onFrame: (type: number, payload: Buffer | undefined) => void;
}

export interface ClassicPoolOptions {
  config: PhpasyncConfig;
  /** Classic-scripts processes. */
  count: number;
  drainMs: number;
  log: FastifyBaseLogger;
  /** Whether the front is closing (its responses then close their connection). */
  closing: () => boolean;
  /** max_wait_time: how long a request waits when every child's ring is full. */
  maxWaitMs: number;
  /** The front's own log fields (a supervised child's id), on the children's lines too. */
  logBindings?: Record<string, unknown>;
}

export class ClassicPool {
  private readonly children: Child[];
  private readonly waiting: Waiting[] = [];
  private readonly open = new Set<Open>();
  private dir: string | undefined;
  private started = false;
  private closed = false;
  private rr = 0;
  private readonly childConfig: PhpasyncConfig;

  constructor(private readonly o: ClassicPoolOptions) {
    this.childConfig = withoutWorkers(o.config);
    this.children = Array.from({ length: o.count }, (_, i) => ({ id: i + 1, socketPath: '', ready: false, startedAt: 0, inflight: 0, nextDelay: 0, open: new Map(), nextId: 0 }));
  }

  /** Sends a request marked by markClassic to a child (the reply is hijacked here). */
  forward(request: FastifyRequest, reply: FastifyReply): void {
    reply.hijack();
    if (mustWaitTurn(request.raw, reply.raw)) whenTurnComes(request.raw, reply.raw, () => this.dispatch(request, reply));
    else this.dispatch(request, reply);
  }

  private dispatch(request: FastifyRequest, reply: FastifyReply): void {
    // Its client left while the front read the body or resolved the script: its 'close' came
    // already, nothing would ever settle it.
    if (reply.raw.destroyed) return;
    const child = this.waiting.length === 0 ? this.pick() : undefined;
    if (child) return this.send(child, request, reply);
    if (this.closed) return answer(reply, 'PHPASYNC_SHUTTING_DOWN');
    this.start();
    // Every child full: max_wait_time, as a ring that stays full. None ready yet (booting,
    // restarting): the time one takes to start.
    const booting = !this.children.some((c) => c.ready);
    const maxWait = booting ? CLASSIC_START_WAIT_MS : this.o.maxWaitMs;
    // As many as a server without a worker lets wait (its threads × max_coroutines).
    if (maxWait <= 0 || this.waiting.length >= this.o.count * ENGINE.maxCoroutines.default) return answer(reply, 'PHPASYNC_BUSY');
    const w: Waiting = { request, reply, timer: undefined };
    w.timer = setTimeout(() => {
      this.waiting.splice(this.waiting.indexOf(w) >>> 0, 1);
      if (booting && !this.children.some((c) => c.ready)) answer(reply, 'PHPASYNC_CLASSIC_UNAVAILABLE', CLASSIC_START_WAIT_MS / 1000);
      else answer(reply, 'PHPASYNC_BUSY');
    }, maxWait);
    this.waiting.push(w);
    reply.raw.once('close', () => {
      const i = this.waiting.indexOf(w);
      if (i >= 0) {
        clearTimeout(w.timer);
        this.waiting.splice(i, 1);
      }
    });
  }

  /** The ready child with the fewest requests in flight (round robin among equals), if one has
   * room in its ring. */
  private pick(): Child | undefined {
    let best: Child | undefined;
    const n = this.children.length;
    for (let k = 0; k < n; k++) {
      const c = this.children[(this.rr + k) % n]!;
      if (c.ready && c.inflight < PER_CHILD && (!best || c.inflight < best.inflight)) best = c;
    }
    this.rr = (this.rr + 1) % n;
    return best;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-classic-')); // 0700
    for (const c of this.children) this.spawn(c);
  }

  private spawn(c: Child): void {
    if (this.closed) return;
    c.socketPath = path.join(this.dir!, `classic-${c.id}-${Date.now().toString(36)}.sock`);
    const proc = fork(CHILD_ENTRY, [], { execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof')), detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.proc = proc;
    c.startedAt = Date.now();
    c.ready = false;
    const log = this.o.log;
    proc.on('error', (err) => log.warn({ classic: c.id, err: err.message }, 'classic scripts process: error'));
    proc.on('message', (m: FromClassic) => {
      if (m.t === 'ready' && c.proc === proc) {
        this.connect(c, proc);
      } else if (m.t === 'failed') {
        log.error({ classic: c.id, classicPid: proc.pid, message: m.message }, `classic scripts process ${c.id} could not start`);
      }
    });
    proc.once('exit', (code, signal) => {
      const wasCurrent = c.proc === proc;
      if (!wasCurrent) return;
      c.ready = false;
      c.channel?.destroy();
      c.proc = undefined;
      if (this.closed) return;
      if (Date.now() - c.startedAt >= HEALTHY_MS) c.nextDelay = 0;
      const delay = c.nextDelay;
      c.nextDelay = Math.min(MAX_DELAY_MS, delay === 0 ? FIRST_DELAY_MS : delay * 2);
      log.warn({ classic: c.id, classicPid: proc.pid, code, signal, restartInMs: delay }, `classic scripts process ${c.id} ended; starting it again`);
      c.timer = setTimeout(() => this.spawn(c), delay);
    });
    proc.send({ t: 'start', id: c.id, config: this.childConfig, socketPath: c.socketPath, drainMs: this.o.drainMs, logBindings: this.o.logBindings ?? {} } satisfies ToClassic, () => {});
  }

  /** Opens the channel to a child that listens. No time limits on it: the child has its own
   * (request_timeout, 504). */
  private connect(c: Child, proc: ChildProcess): void {
    const log = this.o.log;
    const socket = net.connect(c.socketPath);
    c.channel = socket;
    socket.setNoDelay(true);
    const reader = new FrameReader((type, id, payload) => c.open.get(id)?.onFrame(type, payload));
    socket.once('connect', () => {
      if (c.proc !== proc) return;
      c.ready = true;
      log.info({ classic: c.id, classicPid: proc.pid }, `classic scripts process ${c.id} serves`);
      this.flushWaiting();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        // The child wrote what it never writes: nothing more from it can be trusted. Its
        // requests fail (below), and it is replaced.
        log.error({ classic: c.id, classicPid: proc.pid, err: (err as Error).message }, `classic scripts process ${c.id} broke its channel: stopping it`);
        socket.destroy();
        proc.kill('SIGKILL');
      }
    });
    socket.on('error', (err) => {
      if (c.open.size > 0) log.warn({ classic: c.id, classicPid: proc.pid, err: err.message }, `classic scripts process ${c.id}: channel error`);
    });
    socket.once('close', () => {
      if (c.channel === socket) {
        c.channel = undefined;
        c.ready = false;
      }
      for (const o of [...c.open.values()]) o.onFrame(0, undefined);
      // A child that lives on without its channel could serve nothing more: replaced.
      if (c.proc === proc && !this.closed) proc.kill('SIGKILL');
    });
  }

  private flushWaiting(): void {
    for (;;) {
      const child = this.waiting.length > 0 ? this.pick() : undefined;
      if (!child) return;
      const w = this.waiting.shift()!;
      clearTimeout(w.timer);
      this.send(child, w.request, w.reply);
    }
  }

  private send(child: Child, request: FastifyRequest, reply: FastifyReply): void {
    const req = request.raw;
    const res = reply.raw;
    if (res.destroyed) return;
    const mark = (req as Marked)[CLASSIC]!;
    // A client's header of the old hop's name: PHP never sees it (applications may test for it).
    if (req.headers[CLASSIC_HEADER] !== undefined) req.rawHeaders = req.rawHeaders.filter((_, i, a) => a[i - (i % 2)]!.toLowerCase() !== CLASSIC_HEADER);
    const envelope = encodeEnvelope(req, request.protocol, mark.target);
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    const ae = req.headers['accept-encoding'];
    const id = (child.nextId = (child.nextId + 1) >>> 0 || 1);
    const channel = child.channel!;
    const log = this.o.log;
    const closing = this.o.closing;
    let settled = false;
    let paused = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      child.inflight--;
      child.open.delete(id);
      this.open.delete(entry);
      if (this.waiting.length > 0) this.flushWaiting();
    };
    const tell = (type: Frame): void => {
      if (!channel.destroyed) corked(channel).write(frameHead(type, id, 0));
    };
    const onDrain = (): void => {
      if (paused && !settled) {
        paused = false;
        tell(Frame.RESUME);
      }
    };
    const fail = (why: string): void => {
      settle();
      if (res.writableEnded || res.destroyed) return;
      log.warn({ classic: child.id, classicPid: child.proc?.pid, reqId: request.id }, `classic scripts process ${child.id}: ${why}`);
      if (!res.headersSent) answer(reply, 'PHPASYNC_CLASSIC_GONE', child.id);
      // The child died in the middle of the body: the client's response is cut, as it was.
      else res.destroy();
    };
    const entry: Open = {
      reply,
      abort: () => {
        if (!settled) tell(Frame.ABORT);
      },
      onFrame: (type, payload) => {
        if (settled) return;
        if (payload === undefined) return fail('no answer (its channel closed)');
        if (res.destroyed) {
          // Its 'close' settles it; an end settles it here in any case.
          if (type === Frame.END || type === Frame.CUT) settle();
          return;
        }
        switch (type) {
          case Frame.HEAD: {
            const head = parseHead(payload);
            if (!head) throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`a response head it cannot read (request ${id})`]);
            if (res.headersSent) throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`a second response head (request ${id})`]);
            const list: string[] = [];
            const h = head.headers;
            for (let i = 0; i < h.length; i += 2) if (!NOT_RELAYED.has(h[i]!.toLowerCase())) list.push(h[i]!, h[i + 1]!);
            addHookHeaders(list, reply);
            if (closing() && !hasRequestBehind(res as ServerResponse)) list.push('Connection', 'close');
            try {
              res.writeHead(head.status, list);
            } catch (err) {
              // Node refuses a header (a byte it does not send, a Trailer on a response that
              // is not chunked): this request fails alone, as without a worker.
              const e = err as NodeJS.ErrnoException;
              log.error({ classic: child.id, reqId: request.id }, `Node refused the response head (${e.code ?? e.name}: ${e.message}): answered 500`);
              entry.abort();
              settle();
              for (const name of res.getHeaderNames()) res.removeHeader(name);
              (res as unknown as { _hasBody: boolean })._hasBody = true;
              answer(reply, 'PHPASYNC_FRAME');
            }
            return;
          }
          case Frame.DATA:
            if (!res.headersSent) throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`body bytes before the head (request ${id})`]);
            if (!res.write(payload) && !paused) {
              paused = true;
              tell(Frame.PAUSE);
              res.once('drain', onDrain);
            }
            return;
          case Frame.FLUSH:
            if (!res.headersSent) throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`a flush before the head (request ${id})`]);
            res.flushHeaders();
            return;
          case Frame.END:
            if (!res.headersSent) throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`an end before the head (request ${id})`]);
            settle();
            res.end();
            return;
          case Frame.CUT: {
            settle();
            // What was written before goes out first, then the connection closes.
            const socket = res.socket;
            if (socket) socket.destroySoon();
            else res.destroy();
            return;
          }
          default:
            throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`a frame of type ${type}`]);
        }
      },
    };
    this.open.add(entry);
    child.open.set(id, entry);
    child.inflight++;
    // The client went away: the child stops the script (connection_aborted()).
    res.once('close', () => {
      entry.abort();
      settle();
    });
    corked(channel).write(
      reqFrame(
        id,
        { reqId: request.id, site: mark.site, method: req.method ?? 'GET', httpMajor: req.httpVersionMajor, acceptEncoding: typeof ae === 'string' ? ae : null, bodyAt: envelope.bodyAt },
        envelope.bytes,
        body,
      ),
    );
    if (body && body.length > 0) channel.write(body);
  }

  /** At the drain deadline: the requests still in a child are answered 503 (or cut). */
  cancelAll(): number {
    let n = 0;
    for (const e of [...this.open]) {
      n++;
      e.abort();
      if (!e.reply.raw.headersSent) answer(e.reply, 'PHPASYNC_SHUTTING_DOWN');
      else e.reply.raw.destroy();
    }
    return n;
  }

  /** Drains every child and waits for them to exit (after the front's own requests ended). */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      answer(w.reply, 'PHPASYNC_SHUTTING_DOWN');
    }
    const exits: Promise<void>[] = [];
    for (const c of this.children) {
      clearTimeout(c.timer);
      const proc = c.proc;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => proc.kill('SIGKILL'), this.o.drainMs + EXIT_GRACE_MS);
          proc.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          if (proc.connected) proc.send({ t: 'drain' } satisfies ToClassic, () => {});
          else proc.kill('SIGTERM');
        }),
      );
    }
    await Promise.all(exits);
    for (const c of this.children) c.channel?.destroy();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A 5xx of the errors table on a hijacked reply. */
function answer(reply: FastifyReply, code: ErrorCode, ...args: (string | number)[]): void {
  const res = reply.raw;
  if (res.headersSent || res.destroyed) return;
  const a = httpAnswer(code, ...args);
  const list = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(a.body))];
  addHookHeaders(list, reply);
  res.writeHead(a.status, list);
  res.end(a.body);
}
