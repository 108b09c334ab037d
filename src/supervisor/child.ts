// A supervised child: one Fastify front and its PHP thread(s), serving the connections the
// supervisor accepted and hands over the IPC channel. It never binds the public address.
//
// Its HTTP server listens on a unix socket in the supervisor's private directory, which no
// client is told about: Node's HTTP server checks its timeouts (read_header, read_body) only
// once it has listened, and Fastify's close expects a listening server.
//
// Draining (reload, stop, or the supervisor gone): the supervisor sends no more connections;
// a request that still arrives on an open connection is served and answered with
// `Connection: close`, so the client's next request opens a new connection, which another child
// takes; a keep-alive connection idle for IDLE_GRACE_MS is closed (drain.ts). Once no
// connection is left, PHP stops and the process exits 0. Past drain_timeout what still runs is
// cancelled, as in a single-process stop.
import '../server/signals.js';

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';

import type { FastifyInstance } from 'fastify';

import { allWorkers } from '../config/walk.js';
import { gracefulConnections } from '../server/drain.js';
import { ServerMetrics } from '../server/metrics.js';
import { buildServer } from '../server/run.js';
import type { FromChild, ToChild } from './protocol.js';

/** How often changed engine counters are reported to the supervisor. */
const STATS_EVERY_MS = 20;

function send(m: FromChild): void {
  // After the supervisor is gone there is no one to tell. The callback: a write that fails
  // (the supervisor died a moment ago, its end not read yet) would otherwise be thrown as an
  // unhandled 'error' and end this child with the requests it still serves.
  if (process.connected) process.send!(m, undefined, undefined, () => {});
}

type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

async function start(m: Extract<ToChild, { t: 'start' }>, socketDir: string): Promise<void> {
  process.title = `phpasync: child ${m.id}`;
  const app: FastifyInstance = await buildServer(m.config, { threads: m.threads, logBindings: { child: m.id } });
  const conns = gracefulConnections(app.server);
  const open = new Set<HttpSocket>();
  let draining = false;

  const take = (socket: HttpSocket): void => {
    // While draining too (a connection sent just before the supervisor learnt of a SIGTERM
    // sent to this child alone): it is served with `Connection: close`.
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (draining && open.size === 0) void finish();
    });
    app.server.emit('connection', socket);
    socket.resume();
  };
  onConnection = take;

  // Counters for the supervisor's sums and its "in flight" figure when this child dies.
  let last = '';
  const report = setInterval(() => {
    const stats = app.phpasync.stats() as unknown as Record<string, number>;
    const text = JSON.stringify(stats);
    if (text !== last) send({ t: 'stats', stats });
    last = text;
  }, STATS_EVERY_MS);
  report.unref();

  // The supervisor serves /metrics: it asks each child for its registry and sums them.
  const metrics = m.config.global?.metrics ? new ServerMetrics(app.phpasync, allWorkers(m.config)[0]?.file ?? '') : undefined;
  app.phpasync.metrics = metrics;
  onMetrics = (id) => {
    if (!metrics) return send({ t: 'metrics', id, metrics: [] });
    metrics.registry.getMetricsAsJSON().then(
      (json) => send({ t: 'metrics', id, metrics: json }),
      (err: unknown) => {
        app.log.error({ err }, 'metrics: collecting failed');
        send({ t: 'metrics', id, metrics: [] });
      },
    );
  };

  app.phpasync.onFatal = (message) => {
    app.log.error({ message }, 'the PHP worker stopped; exiting so that the supervisor starts this child again');
    process.exit(1);
  };

  let finishing: Promise<void> | undefined;
  const finish = (): Promise<void> =>
    (finishing ??= app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    ));

  const drain = (why: string): void => {
    if (draining) return;
    draining = true;
    app.log.info({ why, connections: open.size, drainMs: m.drainMs }, 'draining');
    // Responses not started yet close their connection; so do the ones of later requests.
    for (const s of open) {
      const res = s._httpMessage;
      if (res && !res.headersSent) res.shouldKeepAlive = false;
    }
    app.server.prependListener('request', (_req, res: ServerResponse) => {
      res.shouldKeepAlive = false;
    });
    app.server.closeIdleConnections(); // drain.ts: closes each connection once idle for a moment
    if (open.size === 0) void finish();
    setTimeout(() => {
      const n = app.phpasync.cancelAll() + (app.classicScripts?.cancelAll() ?? 0);
      app.log.warn({ drainMs: m.drainMs, cancelled: n }, 'drain time is over: cancelled the requests still running');
      setTimeout(() => {
        conns.cutAll();
        void finish();
      }, 1000).unref();
    }, m.drainMs).unref();
  };
  await app.listen({ path: path.join(socketDir, `child-${m.id}-${process.pid}.sock`) });
  send({ t: 'ready' });
  onDrain = drain;
  if (drainAsked) drain(drainAsked);
}

// Set once the app serves; a drain asked for while PHP boots is remembered until then.
let onConnection: ((socket: HttpSocket) => void) | undefined;
let onDrain: ((why: string) => void) | undefined;
let onMetrics: ((id: number) => void) | undefined;
let drainAsked: string | undefined;
function askDrain(why: string): void {
  if (onDrain) onDrain(why);
  else drainAsked ??= why;
}

// Signals are the supervisor's to act on: a terminal's Ctrl-C reaches the whole process group
// (children have their own group, but a user may signal one by hand), and the supervisor drains
// its children itself. A SIGTERM sent to this child alone drains it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => askDrain('SIGTERM'));
// The supervisor died (SIGKILL): serve what is open, then go.
process.on('disconnect', () => askDrain('supervisor gone'));

// The supervisor numbers the connections it sends this process 1, 2, 3, … and they arrive in
// that order, so a number skipped is a connection Node dropped (no descriptor left for it):
// said at once, or when the supervisor asks (`revoke`) about one that was not followed by others.
let nextConn = 1;
function missedUpTo(n: number): void {
  if (n < nextConn) return; // taken, or said already
  send({ t: 'missed', from: nextConn, to: n });
  nextConn = n + 1;
}

const socketDir = process.argv[2]!;
process.on('message', (m: ToChild, handle: unknown) => {
  if (m.t === 'conn') {
    missedUpTo(m.n - 1);
    nextConn = m.n + 1;
    // First: from here on the supervisor lets go of its copy; reading starts after this turn,
    // so a `took` written into the channel at once (the channel is not backed up: it carries
    // small messages) reaches the supervisor before any byte of the connection is read.
    send({ t: 'took', n: m.n });
    if (onConnection && handle) onConnection(handle as HttpSocket);
    else (handle as Socket | undefined)?.destroy();
  } else if (m.t === 'revoke') {
    missedUpTo(m.n);
  } else if (m.t === 'drain') {
    askDrain('supervisor');
  } else if (m.t === 'metrics') {
    if (onMetrics) onMetrics(m.id);
    else send({ t: 'metrics', id: m.id, metrics: [] }); // still booting: nothing counted yet
  } else if (m.t === 'start') {
    start(m, socketDir).catch((err: unknown) => {
      process.stderr.write(`phpasync child ${m.id}: ${(err as Error).stack ?? String(err)}\n`);
      // The supervisor puts it in its error (a load's answer carries PHP's message).
      if (process.connected) process.send!({ t: 'failed', message: (err as Error).message } satisfies FromChild, () => process.exit(1));
      else process.exit(1);
    });
  }
});
