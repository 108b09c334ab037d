// The supervisor: the process the user started when a config asks for several processes. It
// owns the listening address (bound before any PHP boots), starts the children
// (src/supervisor/child.ts), hands each accepted connection to the next ready child in turn,
// starts a child again when it dies, drains them all on SIGTERM/SIGINT, and on SIGHUP replaces
// them one at a time (rolling reload).
//
// Why the supervisor accepts and hands connections over (as Node's cluster does in its
// round-robin mode) rather than children accepting on a shared socket or on SO_REUSEPORT
// sockets: measured on this machine (bench/port-sharing.ts, README "Several processes"), a shared
// socket sent 96 % of keep-alive requests to one child, SO_REUSEPORT and round-robin split them
// alike at the same CPU per request; and here a connection the kernel queued is never lost with
// a child that dies or drains, since the queue is the supervisor's, not the child's.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import pino from 'pino';

import { DRAIN_TIMEOUT_MS } from '../config/defaults.js';
import { DEFAULT_ADMIN_ADDRESS, parseAdminAddress } from '../config/admin-address.js';
import type { PhpasyncConfig } from '../config/model.js';
import { startAdmin } from '../server/admin.js';
import { listenError } from '../server/bind.js';
import { loggerOptions } from '../server/logger.js';
import { PhpasyncError } from '../server/errors.js';
import { reportIgnoredSignalsWith } from '../server/signals.js';
import { startReloads, type ConfigFile, type SupervisedReloads } from '../server/reload-supervised.js';
import type { LoadOutcome } from '../server/reload.js';
import { Backoff } from './backoff.js';
import { SupervisorMetrics, type MetricsJson } from './metrics.js';
import { SUPERVISOR_TITLE, writePidFile } from './pidfile.js';
import type { ProcessPlan } from './plan.js';
import { isFromChild, type ToChild } from './protocol.js';
import { sumStats, type Counters } from './stats.js';

/** Connections held while no child serves; Node's default listen backlog. */
const MAX_WAITING = 511;

/** A connection a child has not taken by then is asked about (`revoke`): a child out of file
 * descriptors never gets the connection (Node drops the message), and says so. */
const REVOKE_AFTER_MS = 1000;

/** A child that has not sent its metrics by then counts with its previous ones (a scrape must
 * not hang on one stuck child). */
const METRICS_ANSWER_MS = 1000;

const CHILD_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.js');

export interface SupervisorOptions {
  drainMs: number;
  pidFile?: string;
  /** `run --watch`: the Caddyfile, loaded again when it changes. */
  configFile?: ConfigFile;
  /** How many processes a config asks for (a load may not change it). */
  processesOf?: (config: PhpasyncConfig) => ProcessPlan;
}

/** One running child process. */
interface Child {
  id: number;
  proc: ChildProcess;
  startedAt: number;
  ready: boolean;
  /** Told to drain (reload or stop): takes no more connections. */
  draining: boolean;
  /** Its channel failed: it is dying, take it out of the rotation before its exit is seen. */
  gone?: boolean;
  /** It has not read its channel for a while (stopped, or its event loop blocked): no new
   * connections for it until it sends something again. */
  stalled?: boolean;
  stats: Counters;
  /** Why it failed to start, as it said before exiting (PHP's message). */
  failure?: string;
  /** How many connections were sent to it: their numbers. */
  sent: number;
  /** Connections sent and not yet taken, by number: this process still holds them. */
  handing: Map<number, Handing>;
  /** Metrics asked for and not answered yet, by request number. */
  asked: Map<number, (m: MetricsJson | undefined) => void>;
  /** Its last metrics answer: what a scrape counts when it does not answer, and what stays
   * in the sums once it is gone. */
  lastMetrics?: MetricsJson;
  exited: Promise<void>;
}

/** A connection on its way to a child. */
interface Handing {
  socket: net.Socket;
  sentAt: number;
  /** When the child was asked whether it got it. */
  revokedAt?: number;
}

/** A place for one child id: its current process and its restart back-off. */
interface Slot {
  id: number;
  child?: Child;
  backoff: Backoff;
  restarts: number;
  restartTimer?: NodeJS.Timeout;
}

export async function runSupervisor(config: PhpasyncConfig, plan: ProcessPlan, options: SupervisorOptions): Promise<void> {
  process.title = SUPERVISOR_TITLE;
  // The server's log settings (src/server/logger.ts): stderr, JSON lines or pino-pretty on a terminal.
  const { stream, ...logOptions } = loggerOptions({ debug: config.global?.debug === true }) as pino.LoggerOptions & {
    stream?: pino.DestinationStream;
  };
  const base = { ...logOptions, base: { pid: process.pid, hostname: os.hostname(), supervisor: true } };
  const log = stream ? pino(base, stream) : pino(base);
  const site = config.sites[0];
  const address = site?.addresses[0];
  const host = address ? address.bind ?? address.host : '';
  const listenHost = host === '' ? '0.0.0.0' : host;

  // Bound first: a port in use fails here, before any child boots PHP. Paused: the bytes are
  // read by the child that gets the connection.
  const waiting: net.Socket[] = []; // accepted while no child was ready
  const listener = net.createServer({ pauseOnConnect: true }, (socket) => {
    // This copy is never read nor written; a reset while it is held must not throw here.
    socket.on('error', () => socket.destroy());
    handOut(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (err) => reject(listenError(listenHost, address?.port ?? 8080, err)));
    listener.listen({ host: listenHost, port: address?.port ?? 8080 }, () => resolve());
  });
  listener.on('error', (err) => log.error({ err }, 'listening socket error'));

  // Children listen on unix sockets nobody else knows of (see child.ts), in a private directory.
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-'));
  const removePid = options.pidFile ? writePidFile(options.pidFile) : () => {};
  const slots: Slot[] = Array.from({ length: plan.processes }, (_, i) => ({ id: i + 1, backoff: new Backoff(), restarts: 0 }));
  let stopping = false;
  let rr = 0;

  // `connected` turns false as soon as the end of a child's channel is read (its death), even
  // when Node holds back the 'disconnect' event (see spawnChild).
  const serving = (): Child[] =>
    slots.flatMap((s) => {
      const c = s.child;
      return c?.ready && !c.draining && !c.gone && !c.stalled && c.proc.connected ? [c] : [];
    });

  function handOut(socket: net.Socket): void {
    // Stopping, the only connections handed out are those a child died without taking: they
    // were accepted, so a child still draining serves them (with `Connection: close`).
    const open = stopping ? [...live].filter((c) => c.ready && !c.gone && !c.stalled && c.proc.connected) : serving();
    if (stopping && open.length === 0) {
      socket.destroy();
      return;
    }
    if (open.length === 0) {
      // No child serves (all restarting): hold the connection, as the kernel's accept queue
      // would, up to as many as that queue holds.
      if (waiting.length >= MAX_WAITING) {
        socket.destroy();
        return;
      }
      waiting.push(socket);
      socket.once('close', () => waiting.splice(waiting.indexOf(socket) >>> 0, 1));
      return;
    }
    const child = open[rr++ % open.length]!;
    // This process keeps its copy of the connection until the child says it has its own
    // (`took`): a connection sent to a child that dies before it took it (even one written
    // into its channel a moment before its death) goes to another child, not lost.
    const n = ++child.sent;
    child.handing.set(n, { socket, sentAt: Date.now() });
    child.proc.send({ t: 'conn', n } satisfies ToChild, socket, { keepOpen: true }, (err) => {
      if (!err) return;
      child.gone = true;
      log.warn({ child: child.id, err: err.message }, 'could not hand a connection to the child; giving it to another');
      if (child.handing.delete(n)) handOut(socket);
    });
  }

  /** The connections a child was sent but never took: to the others. */
  function rehand(child: Child): void {
    const sockets = [...child.handing.values()].map((h) => h.socket);
    child.handing.clear();
    if (sockets.length > 0) log.warn({ child: child.id, connections: sockets.length }, 'the child ended before taking some connections: handed to the others');
    for (const socket of sockets) handOut(socket);
  }

  function flushWaiting(): void {
    for (const socket of waiting.splice(0)) {
      socket.removeAllListeners('close');
      handOut(socket);
    }
  }

  /** Every child process alive, current, starting or draining: all of them stop with us. */
  const live = new Set<Child>();

  // Connections a live child has held for a while without taking them: ask it. A `revoke` is
  // written to the channel only after Node got the child's internal acknowledgement of every
  // connection sent before it (Node queues messages behind a connection in flight), so when
  // the child reads it, a connection it received has been taken already: `missed` means never
  // received, and handing it to another child cannot serve it twice (child.ts also says so at
  // once when the numbers it receives skip one). No answer either: the
  // child does not read its channel, and new connections go to the others meanwhile.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const child of live) {
      if (!child.proc.connected) continue;
      for (const [n, h] of child.handing) {
        if (h.revokedAt === undefined) {
          if (now - h.sentAt < REVOKE_AFTER_MS) continue;
          h.revokedAt = now;
          child.proc.send({ t: 'revoke', n } satisfies ToChild, () => {}); // an error: 'close' re-hands
        } else if (!child.stalled && now - h.revokedAt >= REVOKE_AFTER_MS) {
          child.stalled = true;
          log.warn(
            { child: child.id, childPid: child.proc.pid, connections: child.handing.size },
            `child ${child.id} does not read its channel: no new connections for it until it does`,
          );
        }
      }
    }
  }, REVOKE_AFTER_MS / 2);
  sweep.unref();

  // /metrics: the children's registries summed (src/supervisor/metrics.ts).
  let asked = 0;
  const askMetrics = (child: Child): Promise<MetricsJson | undefined> =>
    new Promise((resolve) => {
      const id = ++asked;
      const timer = setTimeout(() => answer(undefined), METRICS_ANSWER_MS);
      const answer = (m: MetricsJson | undefined): void => {
        clearTimeout(timer);
        child.asked.delete(id);
        resolve(m ?? child.lastMetrics);
      };
      child.asked.set(id, answer);
      if (!child.proc.connected) return answer(undefined);
      child.proc.send({ t: 'metrics', id } satisfies ToChild, (err) => err && answer(undefined));
    });
  const metrics = config.global?.metrics
    ? new SupervisorMetrics(
        {
          children: async () => (await Promise.all([...live].map(askMetrics))).flatMap((m) => (m ? [m] : [])),
          serving: () => serving().length,
        },
        slots.map((s) => s.id),
      )
    : undefined;

  /** Starts a child for `slot`; resolves once it serves, rejects if it exits first. Does not
   * put it in the slot: the caller does, when it should take connections. */
  function spawnChild(slot: Slot): Promise<Child> {
    const proc = fork(CHILD_ENTRY, [socketDir], {
      // Own process group: a terminal's Ctrl-C reaches the supervisor only, which drains the children.
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child: Child = {
      id: slot.id,
      proc,
      startedAt: Date.now(),
      ready: false,
      draining: false,
      stats: {},
      sent: 0,
      handing: new Map(),
      asked: new Map(),
      exited: new Promise((resolve) => proc.once('exit', () => resolve())),
    };
    live.add(child);
    // Every send has a callback (a failed write is dealt with by 'close'); this is for the rest
    // Node reports as 'error' (a failed kill), which must not end the supervisor.
    proc.on('error', (err) => log.warn({ child: slot.id, err: err.message }, 'child process error'));
    proc.send({ t: 'start', id: slot.id, config, threads: plan.threads, drainMs: config.global?.drainTimeoutMs ?? DRAIN_TIMEOUT_MS } satisfies ToChild, () => {});
    return new Promise<Child>((resolve, reject) => {
      proc.on('message', (m: unknown) => {
        if (!isFromChild(m)) return;
        if (child.stalled) {
          child.stalled = false;
          log.info({ child: child.id, childPid: proc.pid }, `child ${child.id} reads its channel again`);
          setImmediate(flushWaiting); // after this message (a `took`, a `missed`) is dealt with
        }
        if (m.t === 'took') {
          const h = child.handing.get(m.n);
          child.handing.delete(m.n);
          h?.socket.destroy(); // the child holds its own descriptor: closing ours sends nothing
        } else if (m.t === 'missed') {
          const lost: net.Socket[] = [];
          for (let n = m.from; n <= m.to; n++) {
            const h = child.handing.get(n);
            if (h && child.handing.delete(n)) lost.push(h.socket);
          }
          if (lost.length > 0) {
            log.warn(
              { child: child.id, connections: lost.length },
              `child ${child.id} did not receive ${lost.length} connection(s) (out of file descriptors?): handed to another child`,
            );
            for (const socket of lost) handOut(socket);
          }
        } else if (m.t === 'stats') {
          child.stats = m.stats;
        } else if (m.t === 'failed') {
          child.failure = m.message;
        } else if (m.t === 'metrics') {
          child.lastMetrics = m.metrics;
          child.asked.get(m.id)?.(m.metrics);
          child.asked.delete(m.id);
        } else if (m.t === 'ready') {
          child.ready = true;
          resolve(child);
        }
      });
      // The connections it never took go to the others once every message it sent was read
      // ('exit' may come before the last `took`s are): on 'disconnect', or on 'close' (exit
      // and the channel's end both seen). Both, because Node emits no 'disconnect' at all when
      // the channel ends while a sent connection awaits the child's internal acknowledgement:
      // the usual case when a child dies with connections on their way to it.
      const lost = (): void => {
        child.gone = true;
        rehand(child);
      };
      proc.once('disconnect', lost);
      proc.once('close', lost);
      proc.once('close', () => {
        for (const answer of child.asked.values()) answer(undefined);
        child.asked.clear();
        metrics?.retire(child.lastMetrics);
      });
      proc.once('exit', (code, signal) => {
        live.delete(child);
        const how = signal ?? `exit code ${code}`;
        const said = child.failure ? `: ${child.failure}` : '';
        if (!child.ready) reject(new PhpasyncError('PHPASYNC_WORKER_START', [`child ${slot.id} exited before serving (${how})${said}`]));
        else if (slot.child === child) died(slot, child, how);
        else if (code !== 0 && !stopping) log.warn({ child: slot.id, childPid: proc.pid, how }, `child ${slot.id} ended its drain with ${how}`);
      });
    });
  }

  /** A serving child died: log what it held and start another after the back-off. */
  function died(slot: Slot, child: Child, how: string): void {
    slot.child = undefined;
    if (stopping) return;
    const lived = Date.now() - child.startedAt;
    const delayMs = slot.backoff.delayAfter(lived);
    // What the child last reported (at most 20 ms old): the requests it held, now failed.
    const inFlight = child.stats.pendingRequests ?? 0;
    log.error(
      { child: slot.id, childPid: child.proc.pid, exit: how, inFlight, livedMs: lived, restartInMs: delayMs },
      `child ${slot.id} died (${how}) with ${inFlight} request(s) in flight (its last count, at most 20 ms old); starting it again in ${delayMs} ms`,
    );
    restartLater(slot, delayMs);
  }

  function restartLater(slot: Slot, delayMs: number): void {
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (stopping) return;
      slot.restarts++;
      metrics?.restarted(slot.id);
      const startedAt = Date.now();
      spawnChild(slot).then(
        (c) => {
          // Stopping, or a reload put a new child in the slot meanwhile: this one is not needed.
          if (stopping || slot.child) return drainChild(c);
          slot.child = c;
          log.info({ child: slot.id, childPid: c.proc.pid, restarts: slot.restarts }, `child ${slot.id} is serving again`);
          flushWaiting();
        },
        (err: Error) => {
          const again = slot.backoff.delayAfter(Date.now() - startedAt);
          log.error({ child: slot.id, restartInMs: again }, `${err.message}; trying again in ${again} ms`);
          if (!stopping) restartLater(slot, again);
        },
      );
    }, delayMs);
  }

  /** The admin endpoint (probes, and /metrics with `metrics`) when the config asks for one:
   * served here, not by the children, so that one address answers for all of them. */
  async function serveAdmin(): Promise<import('node:http').Server | undefined> {
    const g = config.global;
    const address = typeof g?.admin === 'string' ? g.admin : g?.metrics ? DEFAULT_ADMIN_ADDRESS : undefined;
    if (address === undefined) return undefined;
    const where = parseAdminAddress(address)!; // checkRunnable refused what does not parse
    const state = {
      ready: () => !stopping && serving().length > 0,
      metrics,
      // POST /load before the reloads are set up (they start once every child serves).
      load: (c: unknown): Promise<LoadOutcome> =>
        reloads ? reloads.load(c) : Promise.resolve({ applied: false, status: 503, message: 'the server is still starting', errors: [] }),
    };
    return startAdmin(where, state, log as unknown as Parameters<typeof startAdmin>[2]).catch((err: NodeJS.ErrnoException) => {
      throw new PhpasyncError('PHPASYNC_LISTEN', [`${address} (admin)`, err.code ?? err.message]);
    });
  }

  function drainChild(c: Child): void {
    c.draining = true;
    // A child that died a moment ago may still look connected: the write fails (EPIPE), and
    // without a callback Node would throw that here as an unhandled 'error' event.
    if (c.proc.connected) c.proc.send({ t: 'drain' } satisfies ToChild, (err) => err && c.proc.kill('SIGTERM'));
    else c.proc.kill('SIGTERM');
  }

  // Start every child; one that fails to come up fails the start (the config checks ran
  // before, so this is the worker file failing at boot): exit 1, as one process would.
  let admin: import('node:http').Server | undefined;
  let reloads: SupervisedReloads | undefined;
  try {
    await Promise.all(slots.map(async (slot) => (slot.child = await spawnChild(slot))));
    admin = await serveAdmin();
  } catch (err) {
    stopping = true;
    listener.close();
    for (const c of live) c.proc.kill('SIGKILL');
    await Promise.all([...live].map((c) => c.exited));
    fs.rmSync(socketDir, { recursive: true, force: true });
    removePid();
    throw err;
  }

  const shown = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  const port = (listener.address() as net.AddressInfo).port;
  flushWaiting();

  // Rolling reload: each child in turn is replaced by a new one that serves before the old one
  // stops taking connections, so no request is refused; the old one finishes what it has.
  type Reloaded = { ok: boolean; replaced: number; error?: string };
  const reload = async (why: string): Promise<Reloaded> => {
    log.info({ processes: slots.length, why }, 'reload: replacing the children one at a time');
    let replaced = 0;
    for (const slot of slots) {
      if (stopping) return { ok: false, replaced, error: 'the server is stopping' };
      let fresh: Child;
      try {
        fresh = await spawnChild(slot);
      } catch (err) {
        log.error({ child: slot.id, err: (err as Error).message }, 'reload stopped: the new child did not start; the old ones keep serving');
        return { ok: false, replaced, error: (err as Error).message };
      }
      const old = slot.child;
      slot.child = fresh;
      clearTimeout(slot.restartTimer); // the old one died meanwhile: the new one takes its place
      if (stopping) {
        drainChild(fresh);
        return { ok: false, replaced, error: 'the server is stopping' };
      }
      replaced++;
      flushWaiting();
      if (old) {
        drainChild(old);
        await old.exited;
      }
      log.info({ child: slot.id, childPid: fresh.proc.pid }, `reload: child ${slot.id} replaced`);
    }
    log.info({ stats: sumStats(slots.flatMap((s) => (s.child ? [s.child.stats] : []))) }, 'reload done');
    return { ok: true, replaced };
  };
  // One reload at a time; one asked for while another runs starts after it (asks meanwhile
  // share it), so it runs what is current when it starts.
  let reloading: Promise<Reloaded> | undefined;
  let next: Promise<Reloaded> | undefined;
  const requestReload = (why: string): Promise<Reloaded> => {
    if (!reloading) return (reloading = reload(why).finally(() => (reloading = undefined)));
    return (next ??= reloading.then(() => {
      next = undefined;
      return requestReload(why);
    }));
  };
  const onHup = (): void => {
    if (!stopping) void requestReload('SIGHUP');
  };
  reloads = await startReloads({
    log,
    configFile: options.configFile,
    restarter: {
      restart: requestReload,
      config: () => config,
      setConfig: (c) => {
        config = c;
        if (options.processesOf) plan.threads = options.processesOf(c).threads;
      },
      processes: (c) => (options.processesOf ? options.processesOf(c).processes : slots.length),
    },
  }).catch(async (err: unknown) => {
    // The admin address is in use: stop as a failed start does.
    stopping = true;
    listener.close();
    for (const c of live) drainChild(c);
    await Promise.all([...live].map((c) => c.exited));
    fs.rmSync(socketDir, { recursive: true, force: true });
    removePid();
    throw err;
  });
  // Said once the watchers and the admin endpoint are up too.
  log.info({ processes: plan.processes, threadsPerProcess: plan.threads }, `Server listening at http://${shown}:${port}`);
  reportIgnoredSignalsWith((signal) => {
    if (signal === 'SIGHUP') onHup();
    else log.info({ signal }, 'signal ignored: not implemented (stop with SIGTERM or SIGINT)');
  });

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        for (const c of live) c.proc.kill('SIGKILL');
        process.exit(1);
      }
      stopping = true;
      reloads.close();
      log.info({ signal, drainMs: options.drainMs, stats: sumStats(slots.flatMap((s) => (s.child ? [s.child.stats] : []))) }, 'shutting down');
      listener.close();
      for (const socket of waiting.splice(0)) socket.destroy();
      for (const s of slots) clearTimeout(s.restartTimer);
      // Starting children too: they exit once booted (child.ts drains at once when asked early).
      const all = [...live].map((c) => (drainChild(c), c.exited));
      void Promise.all(all).then(() => {
        // Open through the drain, so that readiness says 503 meanwhile.
        admin?.close();
        admin?.closeAllConnections();
        clearInterval(sweep);
        fs.rmSync(socketDir, { recursive: true, force: true });
        removePid();
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
