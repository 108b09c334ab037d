// A classic-scripts process: started by a front process that runs an async worker
// (src/server/scripts-pool.ts), it runs the `.php` files that front hands over, one PHP request
// at a time, as a server without a worker does (src/server/scripts.ts, php/server/scripts.c).
// PHP starts once per process on an NTS PHP, and one process has one PHP thread kind, so the
// worker and classic scripts live in different processes.
//
// It listens on a unix socket in the front's private 0700 directory; only the front connects,
// and speaks the framed channel of src/server/scripts-channel.ts: each request arrives as the
// envelope PHP takes (the real client's address, port, scheme and HTTP version, the script the
// front resolved), goes straight to this process's engine, and its response goes back as
// frames, written as the engine writes it (src/server/scripts-response.ts). No HTTP is parsed
// here.
//
// It stops when the front says so (`drain`), or when the front is gone (its channel closes):
// what is open is served, then PHP stops and the process exits 0. Ctrl-C in a terminal reaches
// the whole group; the front decides for its children.
import './signals.js';

import net from 'node:net';

import type { FastifyInstance } from 'fastify';

import type { PhpasyncConfig } from '../config/model.js';
import { encoderOf, send } from './front.js';
import { httpAnswer, PhpasyncError } from './errors.js';
import { buildServer } from './run.js';
import { Frame, FrameReader, parseReq } from './scripts-channel.js';
import { HopResponse, hopReply, SITE } from './scripts-response.js';

/** From the front process. */
export type ToClassic =
  | { t: 'start'; id: number; config: PhpasyncConfig; socketPath: string; drainMs: number; logBindings: Record<string, unknown> }
  | { t: 'drain' };

/** To the front process. */
export type FromClassic = { t: 'ready' } | { t: 'failed'; message: string };

function tell(m: FromClassic, then?: () => void): void {
  if (process.connected) process.send!(m, undefined, undefined, () => then?.());
  else then?.();
}

/** Tests only (PHPASYNC_TEST_CHANNEL=1, as PHPASYNC_TEST_STATS): a request with this id is
 * answered with a frame no child writes, so that the front's handling of a broken channel is
 * tested through real HTTP (test/mixed-channel.test.ts). */
const BREAK_ID = process.env.PHPASYNC_TEST_CHANNEL === '1' ? 'phpasync-test-break-channel' : undefined;

let app: FastifyInstance | undefined;
let channelServer: net.Server | undefined;
let draining = false;
let drainAsked = false;
/** Requests received and not yet answered, over every connection. */
let open = 0;
let onIdle: (() => void) | undefined;

/** One connection from the front: its requests by id. */
function serveChannel(socket: net.Socket, a: FastifyInstance): void {
  const responses = new Map<number, HopResponse>();
  const fail = (why: string): void => {
    a.log.error(`classic channel: ${why}: connection closed`);
    socket.destroy();
  };
  const reader = new FrameReader((type, id, payload) => {
    if (type === Frame.REQ) {
      const r = parseReq(payload);
      if (!r) throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', ['a request frame this process cannot read']);
      if (responses.has(id)) throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`request id ${id} used twice`]);
      if (r.meta.reqId === BREAK_ID) {
        socket.write(Buffer.from([0, 0, 0, 1, 0xff]));
        return;
      }
      const res = new HopResponse(socket, id);
      responses.set(id, res);
      open++;
      res.once('close', () => {
        responses.delete(id);
        if (--open === 0) onIdle?.();
      });
      a.phpasync.submit({ bytes: r.envelope, bodyAt: r.meta.bodyAt }, r.body, hopReply(res, r.meta));
    } else if (type === Frame.ABORT) {
      responses.get(id)?.clientGone();
    } else if (type === Frame.PAUSE) {
      responses.get(id)?.pause();
    } else if (type === Frame.RESUME) {
      responses.get(id)?.resume();
    } else {
      throw new PhpasyncError('PHPASYNC_CLASSIC_CHANNEL', [`a frame of type ${type}`]);
    }
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err) {
      fail((err as Error).message);
    }
  });
  socket.on('error', () => {});
  // The front is gone, or cut the channel: nothing can be answered any more.
  socket.on('close', () => {
    for (const res of [...responses.values()]) res.clientGone();
  });
}

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
  const close = (): void => {
    onIdle = undefined;
    channelServer?.close();
    a.close().then(
      () => process.exit(0),
      (err: unknown) => {
        a.log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  a.phpasync.closing = true;
  if (open === 0) close();
  else onIdle = close;
}

async function start(m: Extract<ToClassic, { t: 'start' }>): Promise<void> {
  process.title = `phpasync: classic scripts ${m.id}`;
  const encoders = m.config.sites.map((s) => encoderOf(s));
  // Nothing reaches this app over HTTP (it does not listen): its engine, logger and hooks serve
  // the channel's requests. The hook only marks it as a classic-scripts process's app.
  app = await buildServer(m.config, {
    threads: 1,
    logBindings: { ...m.logBindings, classic: m.id },
    requestHook: (_request, reply) => send(reply, httpAnswer('PHPASYNC_CLASSIC_CHANNEL', 'a request from outside the channel')),
  });
  await app.ready();
  if (encoders.some((e) => e)) app.phpasync.encoderFor = (req) => encoders[(req as { [SITE]?: number })[SITE] ?? -1];
  const a = app;
  channelServer = net.createServer((socket) => serveChannel(socket, a));
  await new Promise<void>((resolve, reject) => {
    channelServer!.once('error', reject);
    channelServer!.listen(m.socketPath, () => resolve());
  });
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
