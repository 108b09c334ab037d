// A classic-scripts process: started by a front process that runs an async worker
// (src/server/scripts-pool.ts), it runs the `.php` files that front hands over, one PHP request
// at a time, as a server without a worker does (src/server/scripts.ts, php/server/scripts.c).
// PHP starts once per process on an NTS PHP, and one process has one PHP thread kind, so the
// worker and classic scripts live in different processes.
//
// It serves HTTP on a unix socket in the front's private 0700 directory; only the front
// connects. Each request carries the client the front saw and the script it resolved in one
// private header (src/server/scripts-channel.ts): PHP's REMOTE_ADDR/PORT, HTTPS and
// SERVER_PROTOCOL are the real client's, and the script is the one the front's routing chose.
//
// It stops when the front says so (`drain`), or when the front is gone (its channel closes):
// what is open is served, then PHP stops and the process exits 0. Ctrl-C in a terminal reaches
// the whole group; the front decides for its children.
import './signals.js';

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

import type { FastifyInstance, onRequestHookHandler } from 'fastify';

import type { PhpasyncConfig } from '../config/model.js';
import { encoderOf, send } from './front.js';
import { httpAnswer } from './errors.js';
import { genReqId } from './request-id.js';
import { buildServer } from './run.js';
import { CLASSIC_HEADER, decodeMeta, type ClassicMeta } from './scripts-channel.js';
import { setScript } from './scripts.js';

/** From the front process. */
export type ToClassic =
  | { t: 'start'; id: number; config: PhpasyncConfig; socketPath: string; drainMs: number; logBindings: Record<string, unknown> }
  | { t: 'drain' };

/** To the front process. */
export type FromClassic = { t: 'ready' } | { t: 'failed'; message: string };

const SITE = Symbol('phpasync.classicSite');
const META = Symbol('phpasync.classicMeta');
type Tagged = IncomingMessage & { [SITE]?: number; [META]?: ClassicMeta | null };

/** The front's header, decoded once (the request id needs it before the hooks run). */
function metaOf(req: IncomingMessage): ClassicMeta | undefined {
  const t = req as Tagged;
  if (t[META] === undefined) {
    const value = req.headers[CLASSIC_HEADER];
    t[META] = (typeof value === 'string' ? decodeMeta(value) : undefined) ?? null;
  }
  return t[META] ?? undefined;
}

function tell(m: FromClassic, then?: () => void): void {
  if (process.connected) process.send!(m, undefined, undefined, () => then?.());
  else then?.();
}

/**
 * The client the front saw, as this connection's peer for the request it carries now. A
 * connection from the front carries one request at a time (the front's agent does not
 * pipeline), and each request sets these again before anything reads them (envelope.ts reads
 * remoteAddress/remotePort, Fastify's request.protocol reads `encrypted`), so a request never
 * sees another's. The socket's own getters say nothing useful here: its peer is a unix socket.
 */
function asClient(socket: Socket, m: ClassicMeta): void {
  Object.defineProperty(socket, 'remoteAddress', { value: m.addr, configurable: true });
  Object.defineProperty(socket, 'remotePort', { value: m.port, configurable: true });
  Object.defineProperty(socket, 'encrypted', { value: m.scheme === 'https', configurable: true });
}

/** Takes the front's header off the request and applies it; 400 when it is missing or bad
 * (nothing but the front connects, so that is a bug, said as such). */
const takeMeta: onRequestHookHandler = (request, reply, done) => {
  const req = request.raw;
  const meta = metaOf(req);
  if (!meta) return send(reply, httpAnswer('PHPASYNC_CLASSIC_CHANNEL'));
  delete req.headers[CLASSIC_HEADER];
  const raw: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== CLASSIC_HEADER) raw.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  req.rawHeaders = raw;
  req.httpVersion = meta.version;
  asClient(req.socket, meta);
  setScript(req, meta.target);
  (req as Tagged)[SITE] = meta.site;
  done();
};

let app: FastifyInstance | undefined;
let draining = false;
let drainAsked = false;

function drain(drainMs: number): void {
  if (draining || !app) return;
  draining = true;
  const a = app;
  a.log.info('draining');
  // Past the drain time, what still runs is cancelled (503), as in any server.
  setTimeout(() => {
    const n = a.phpasync.cancelAll();
    a.log.warn({ drainMs, cancelled: n }, 'drain time is over: cancelled the requests still running');
  }, drainMs).unref();
  a.close().then(
    () => process.exit(0),
    (err: unknown) => {
      a.log.error({ err }, 'error while shutting down');
      process.exit(1);
    },
  );
}

async function start(m: Extract<ToClassic, { t: 'start' }>): Promise<void> {
  process.title = `phpasync: classic scripts ${m.id}`;
  const encoders = m.config.sites.map((s) => encoderOf(s));
  app = await buildServer(m.config, { threads: 1, logBindings: { ...m.logBindings, classic: m.id }, requestHook: takeMeta, genReqId: (req) => metaOf(req)?.id ?? genReqId(req) });
  if (encoders.some((e) => e)) app.phpasync.encoderFor = (req) => encoders[(req as Tagged)[SITE] ?? -1];
  await app.listen({ path: m.socketPath });
  tell({ t: 'ready' });
  const stop = (): void => drain(m.drainMs);
  if (drainAsked) stop();
  onDrain = stop;
}

let onDrain: (() => void) | undefined;
function askDrain(): void {
  if (onDrain) onDrain();
  else drainAsked = true;
}

process.on('SIGINT', () => {});
process.on('SIGTERM', askDrain);
process.on('disconnect', () => {
  // The front is gone (even SIGKILLed): nothing will come any more.
  if (onDrain) onDrain();
  else process.exit(0);
});
process.on('message', (m: ToClassic) => {
  if (m.t === 'drain') askDrain();
  else if (m.t === 'start') {
    start(m).catch((err: unknown) => {
      process.stderr.write(`phpasync classic scripts ${m.id}: ${(err as Error).stack ?? String(err)}\n`);
      tell({ t: 'failed', message: (err as Error).message }, () => process.exit(1));
    });
  }
});
