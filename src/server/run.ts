// `phpasync run`: from a typed config to a listening server, and back down on SIGINT/SIGTERM.
import fs from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';

import Fastify, { LogController, type FastifyInstance, type FastifyListenOptions, type FastifyServerOptions, type onRequestHookHandler } from 'fastify';

import { reportIgnoredSignalsWith } from './signals.js';
import { DRAIN_TIMEOUT_MS, ENGINE, LISTEN_PORT, MAX_WAIT_MS, scriptsEngineOptions, workerEngineOptions, type EngineOptions } from '../config/defaults.js';
import { DEFAULT_ADMIN_ADDRESS, parseAdminAddress } from '../config/admin-address.js';
import type { PhpasyncConfig } from '../config/model.js';
import { checkRunnable, mixedClassicProcesses, notSupported } from '../config/runnable.js';
import { allDirectives, allWorkers, intoRoutes, walkDirectives } from '../config/walk.js';
import { bindListener, type BoundListener } from './bind.js';
import { gracefulConnections } from './drain.js';
import { PhpasyncError } from './errors.js';
import { applyTimeouts, checkingIntervalMs, effectiveTimeouts } from './timeouts.js';
import { applyH2ReadBody, applyHttpsTimeouts } from './h2-timeouts.js';
import { startAdmin } from './admin.js';
import { loadWithoutSupervisor } from './reload.js';
import { loadAddon } from '../native/index.js';
import { loggerOptions } from './logger.js';
import { ServerMetrics } from './metrics.js';
import { lazyAppChildren } from './lazy-logger.js';
import { phpasync } from './plugin.js';
import { echoRequestId, genReqId } from './request-id.js';
import { planSockets, socketUrl } from './listen-plan.js';
import { classicScriptsOf } from './front.js';
import { workerDocumentRoot } from './worker-root.js';
import { ClassicPool, isClassic } from './scripts-pool.js';
import { routeSites, type BoundSites, type SiteRouting } from './sites.js';
import { serveH2c } from './h2c.js';
import { httpsOptions } from './tls.js';
import { Proxies, replyFrom } from './proxy.js';
import { AccessLogs } from './access-log.js';

export interface RunOptions {
  watch: boolean;
}

/** The largest request body the site accepts (`request_body { max_size }`), if it sets one. */
function bodyLimitOf(config: PhpasyncConfig): number | undefined {
  let limit: number | undefined;
  for (const site of config.sites) {
    for (const d of walkDirectives(site.directives, intoRoutes)) {
      const max = d.requestBody?.maxSize;
      if (d.name === 'request_body' && max !== undefined) limit = limit === undefined ? max : Math.min(limit, max);
    }
  }
  return limit;
}

/** Classic scripts: the engine's root (the first PHP site's; each request names its own),
 * php_server's env, and num_threads PHP threads on a thread-safe PHP (on NTS one per process:
 * the supervisor starts num_threads processes, src/cli/runtime.ts). */
async function scriptsOptions(config: PhpasyncConfig): Promise<EngineOptions> {
  const site = config.sites.find((s) => classicScriptsOf(s, config.configFile))!;
  const root = classicScriptsOf(site, config.configFile)!.root;
  const env: Record<string, string> = {};
  for (const d of walkDirectives(site.directives, intoRoutes)) Object.assign(env, d.phpServer?.env ?? d.php?.env ?? {});
  const options = scriptsEngineOptions(await fs.realpath(root).catch(() => root), config.frankenphp?.phpIni, env);
  const numThreads = config.frankenphp?.numThreads;
  if (numThreads !== undefined && numThreads > 1 && loadAddon().phpInfo().zts) return { ...options, threads: Math.min(numThreads, ENGINE.threads.max) };
  return options;
}

/** What the caller changes in the app it builds. */
export interface BuildOptions {
  /** The sockets and the sites each serves (runServer binds them first); absent, the config's
   * first address only. */
  bound?: BoundSites[];
  /** PHP threads, instead of the worker's num (a supervised child: on NTS, num counts processes). */
  threads?: number;
  /** Fields every log line carries (a supervised child's id). */
  logBindings?: Record<string, unknown>;
  /** A classic-scripts process (src/server/scripts-child.ts): this hook replaces the sites'
   * routing (the front process routed), and it serves plain HTTP on its private socket. */
  requestHook?: onRequestHookHandler;
  /** Request ids, instead of request-id.ts's (a classic-scripts process takes the front's). */
  genReqId?: (req: IncomingMessage) => string;
}

/** Builds the Fastify app for a runnable config (no listen). */
export async function buildServer(config: PhpasyncConfig, build: BuildOptions = {}): Promise<FastifyInstance> {
  const errors = checkRunnable(config);
  if (errors.length > 0) throw errors[0];
  // checkRunnable refuses more than one worker, and none unless a site runs classic scripts.
  const worker = allWorkers(config)[0];
  const timeouts = effectiveTimeouts(config.global?.timeouts);
  const front = build.requestHook === undefined;
  const https = front ? httpsOptions(config) : undefined;
  const app = Fastify({
    // Node checks read_header/read_body only at this interval (its default is 30 s).
    http: { connectionsCheckingInterval: checkingIntervalMs(timeouts) },
    // https sites: HTTP/2 and HTTP/1.1 over TLS, chosen by ALPN (Caddy's default protocols).
    // Their TLS handshake is bounded by read_header, an HTTP/2 session's quiet time by idle.
    ...(https
      ? { http2: true, https: { ...https, ...(timeouts.readHeaderMs > 0 ? { handshakeTimeout: timeouts.readHeaderMs } : {}) }, http2SessionTimeout: timeouts.idleMs }
      : {}),
    logger: {
      ...(loggerOptions({ debug: config.global?.debug === true }) as Record<string, unknown>),
      ...(build.logBindings ? { base: { pid: process.pid, hostname: os.hostname(), ...build.logBindings } } : {}),
    },
    // Like Caddy, no access log unless a site asks for one (its `log`: src/server/access-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    genReqId: build.genReqId ?? genReqId,
  } as FastifyServerOptions) as unknown as FastifyInstance;
  lazyAppChildren(app);
  echoRequestId(app);
  applyTimeouts(app.server, timeouts, app.log);
  if (https) applyHttpsTimeouts(app.server, timeouts, checkingIntervalMs(timeouts), app.log);
  if (front && !https && config.global?.protocols?.includes('h2c')) {
    const h2c = serveH2c(app.server, timeouts.readHeaderMs);
    applyH2ReadBody(app.server, timeouts.readBodyMs, app.log);
    // Its sessions go away at shutdown (drain.ts does the same for https).
    app.addHook('preClose', async () => h2c.closeSessions());
  }
  // Sites, static files and `encode`; no hook at all for one site whose worker takes every path.
  const sites = build.bound ?? [{ port: -1, sites: (config.sites[0]?.addresses ?? []).slice(0, 1).map((a) => ({ site: config.sites[0]!, host: a.host })) }];
  // reverse_proxy: reply.from() (undici) for the proxies the routes build; their health checks
  // stop with the app.
  const proxies = front && [...allDirectives(config)].some((d) => d.proxy) ? new Proxies(app.log) : undefined;
  if (proxies) {
    await app.register(replyFrom, { undici: {}, disableRequestLogging: true });
    app.addHook('onClose', async () => proxies.close());
  }
  const accessLogs = front && config.sites.some((s) => s.logs) ? new AccessLogs() : undefined;
  if (accessLogs) app.addHook('onClose', async () => accessLogs.close());
  // Classic scripts next to the worker run in processes of their own (src/server/scripts-pool.ts):
  // the routing marks them, and they leave once their body is read.
  const classic = front ? mixedClassicProcesses(config) : undefined;
  if (classic !== undefined) {
    const pool = new ClassicPool({
      config,
      count: classic,
      drainMs: config.global?.drainTimeoutMs ?? DRAIN_TIMEOUT_MS,
      log: app.log,
      closing: () => app.phpasync.closing,
      maxWaitMs: config.frankenphp?.maxWaitMs ?? MAX_WAIT_MS,
      ...(build.logBindings ? { logBindings: build.logBindings } : {}),
    });
    app.decorate('classicScripts', pool);
    app.addHook('preHandler', (request, reply, done) => (isClassic(request.raw) ? pool.forward(request, reply) : done()));
    app.addHook('onClose', async () => pool.close());
  }
  const routing: SiteRouting = front
    ? routeSites(config, sites, worker, app.log, { ...(proxies ? { terminal: proxies.terminal } : {}), ...(accessLogs ? { accessLogs } : {}), classic: classic !== undefined })
    : { ...(build.requestHook ? { hook: build.requestHook } : {}) };
  if (routing.hook) app.addHook('onRequest', routing.hook);
  const numThreads = config.frankenphp?.numThreads;
  if (worker && classic === undefined && numThreads !== undefined && numThreads !== worker.num) {
    app.log.info(
      { numThreads, workerThreads: worker.num },
      'num_threads counts classic PHP threads too; phpasync runs only the async worker threads',
    );
  }
  const bodyLimit = bodyLimitOf(config);
  await app.register(phpasync, {
    ...(worker ? workerEngineOptions(worker, config.frankenphp?.phpIni) : await scriptsOptions(config)),
    // A classic worker's $_SERVER names its script under the site's root (DOCUMENT_ROOT, SCRIPT_NAME).
    ...(worker && !worker.async ? { documentRoot: await workerDocumentRoot(config) } : {}),
    ...(config.frankenphp?.maxWaitMs !== undefined ? { maxWaitMs: config.frankenphp.maxWaitMs } : {}),
    ...(build.threads !== undefined ? { threads: build.threads } : {}),
    ...(bodyLimit !== undefined ? { bodyLimit } : {}),
    // Nothing of Fastify's per-request work is needed by PHP's bodyless requests when no hook,
    // no other route and no TLS stands in front of the worker.
    ...(front && !https && !routing.hook && classic === undefined && !proxies ? { direct: { genReqId: build.genReqId ?? genReqId, echoRequestId: true } } : {}),
  });
  if (routing.encoderFor) app.phpasync.encoderFor = routing.encoderFor;
  return app;
}

/** The admin endpoint (probes, and /metrics with `metrics`) when the config asks for one; it
 * closes with the app. */
async function serveAdmin(config: PhpasyncConfig, app: FastifyInstance): Promise<void> {
  const g = config.global;
  const address = typeof g?.admin === 'string' ? g.admin : g?.metrics ? DEFAULT_ADMIN_ADDRESS : undefined;
  if (address === undefined) return;
  const where = parseAdminAddress(address)!; // checkRunnable refused what does not parse
  const metrics = g?.metrics ? new ServerMetrics(app.phpasync, allWorkers(config)[0]?.file ?? '') : undefined;
  app.phpasync.metrics = metrics;
  // One process cannot apply a config (PHP cannot start twice in it): /load checks it and says so.
  const php = loadAddon().phpInfo();
  const load = async (value: unknown) => loadWithoutSupervisor(value, php);
  const admin = await startAdmin(where, { ready: () => !app.phpasync.closing, metrics, load }, app.log).catch((err: NodeJS.ErrnoException) => {
    throw new PhpasyncError('PHPASYNC_LISTEN', [`${address} (admin)`, err.code ?? err.message]);
  });
  // Open through the drain, so that readiness says 503 meanwhile; gone with the HTTP server.
  app.server.once('close', () => {
    admin.close();
    admin.closeAllConnections();
  });
}

/** Starts the server and resolves once it has stopped after SIGINT/SIGTERM. */
export async function runServer(config: PhpasyncConfig, options: RunOptions): Promise<void> {
  // Watching restarts PHP in new processes: `serve` (src/cli/commands/run.ts) runs it supervised.
  if (options.watch) throw notSupported('run --watch without the supervisor', { file: config.configFile, line: 1, column: 1 });
  // One listener for the whole run: a stop signal that comes while PHP boots or the server
  // starts listening is kept and acted on once it is up. (Swapping listeners would drop a
  // signal libuv had already queued for the removed one; Node's default would kill the
  // process without a word.)
  let early: NodeJS.Signals | undefined;
  let onStop: ((signal: NodeJS.Signals) => void) | undefined;
  const stopListener = (signal: NodeJS.Signals): void => {
    if (onStop) onStop(signal);
    else early ??= signal;
  };
  process.on('SIGINT', stopListener);
  process.on('SIGTERM', stopListener);
  const dropStopListener = (): void => {
    process.off('SIGINT', stopListener);
    process.off('SIGTERM', stopListener);
  };
  // Bound before PHP boots: a port in use fails here, before the worker file runs.
  const plan = await planSockets(config, LISTEN_PORT).catch((err: unknown) => {
    dropStopListener();
    throw err;
  });
  const listeners: BoundListener[] = [];
  const closeAll = (): void => {
    for (const l of listeners) l.close();
  };
  try {
    for (const p of plan) listeners.push(await bindListener(p.host, p.port));
  } catch (err) {
    dropStopListener();
    closeAll();
    throw err;
  }
  const bound: BoundSites[] = plan.map((p, i) => ({
    port: listeners[i]!.port,
    sites: p.sites.map(({ site, address }) => ({ site, host: address.host })),
  }));
  let app: FastifyInstance;
  try {
    app = await buildServer(config, { bound });
  } catch (err) {
    dropStopListener();
    closeAll();
    throw err;
  }
  const conns = gracefulConnections(app.server);
  const [first, ...others] = listeners;
  try {
    // Node's server.listen({ handle }) serves on an already bound socket handle; Fastify
    // passes its options through to it. The other sockets hand their connections to the
    // same server, so every site shares its hooks, timeouts and drain.
    await app.listen({ host: plan[0]!.host, handle: first!.handle } as FastifyListenOptions);
    first!.adopt(app.server);
    for (const [i, l] of others.entries()) {
      l.forward(app.server);
      app.log.info(`Server listening at ${socketUrl(plan[i + 1]!.scheme, plan[i + 1]!.host, l.port)}`);
    }
  } catch (err) {
    dropStopListener();
    closeAll();
    await app.close(); // stops the PHP threads, or they would keep the process alive
    throw err;
  }
  // Fastify closes the socket it listens on; the others stop accepting with it.
  app.server.once('close', () => {
    for (const l of others) l.close();
  });
  await serveAdmin(config, app).catch(async (err: unknown) => {
    dropStopListener();
    await app.close();
    throw err;
  });

  reportIgnoredSignalsWith((signal) =>
    app.log.info({ signal }, 'signal ignored: not implemented (stop with SIGTERM or SIGINT)'),
  );

  const drainMs = config.global?.drainTimeoutMs ?? DRAIN_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    let closing = false;
    // A PHP thread gave up (its worker file keeps failing after a restart): exit 1.
    app.phpasync.onFatal = (message) => {
      if (closing) return;
      closing = true;
      app.close().finally(() =>
        reject(new PhpasyncError('PHPASYNC_WORKER_FAILED', [message])),
      );
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) {
        app.log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      closing = true;
      for (const l of others) l.close(); // no new connections on the other addresses either
      app.log.info({ signal, drainMs }, 'shutting down'); // no new connections; in-flight requests may finish within drainMs
      // Past the drain time, what still runs is cancelled (503 to its client, its handler
      // interrupted) so that the close below can finish.
      const drain = setTimeout(() => {
        const n = app.phpasync.cancelAll() + (app.classicScripts?.cancelAll() ?? 0);
        app.log.warn({ drainMs, cancelled: n }, 'drain time is over: cancelled the requests still running');
        // Responses still being written to clients that read too slowly are cut, once the
        // 503s just sent have had a moment to go out.
        setTimeout(() => {
          const cut = conns.cutAll();
          if (cut > 0) app.log.warn({ connections: cut }, 'drain time is over: closed the connections still being written to');
        }, 1000).unref();
      }, drainMs);
      drain.unref();
      app.close().then(
        () => {
          clearTimeout(drain);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(drain);
          app.log.error({ err }, 'error while shutting down');
          resolve();
        },
      );
    };
    onStop = onSignal;
    if (early) onSignal(early);
  });
}
