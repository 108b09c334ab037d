// `phpasync run`: from a typed config to a listening server, and back down on SIGINT/SIGTERM.
import os from 'node:os';

import Fastify, { LogController, type FastifyInstance, type FastifyListenOptions } from 'fastify';

import { reportIgnoredSignalsWith } from './signals.js';
import { ConfigError } from '../config/errors.js';
import type { DirectiveConfig, PhpasyncConfig, WorkerConfig } from '../config/model.js';
import { bindListener } from './bind.js';
import { gracefulConnections } from './drain.js';
import { PhpasyncError } from './errors.js';
import { applyTimeouts, checkingIntervalMs, effectiveTimeouts } from './timeouts.js';
import { phpasync } from './plugin.js';
import { compileWorkerMatch } from '../config/worker-match.js';

/** Site directives the runtime can serve today (everything else is refused by name). */
const SUPPORTED_SITE_DIRECTIVES = new Set(['root', 'route', 'rewrite', 'php_server', 'php', 'request_body']);

/** Default drain time on SIGTERM/SIGINT when the Caddyfile sets no `drain_timeout` (or `grace_period`). */
export const DEFAULT_DRAIN_MS = 30_000;

// The message names FILE:LINE itself, as issue #4 asks, so no location prefix is added on top.
function notSupported(what: string, source: { file: string; line: number; column: number }): ConfigError {
  return new ConfigError(`not supported yet: ${what} (${source.file}:${source.line})`);
}

/** Every worker of the config: the global `frankenphp` block's and those inside php_server/php. */
function allWorkers(config: PhpasyncConfig): WorkerConfig[] {
  const workers = [...(config.frankenphp?.workers ?? [])];
  const walk = (ds: DirectiveConfig[]): void => {
    for (const d of ds) {
      workers.push(...(d.phpServer?.workers ?? []), ...(d.php?.workers ?? []));
      walk(d.children);
    }
  };
  for (const site of config.sites) walk(site.directives);
  return workers;
}

/** What the config asks for that the runtime does not do yet; empty when it can run. */
export function checkRunnable(config: PhpasyncConfig): ConfigError[] {
  const errors: ConfigError[] = [];
  const fp = config.frankenphp;
  if (fp?.maxThreads !== undefined) errors.push(notSupported('frankenphp max_threads', fp.source));

  const workers = allWorkers(config);
  for (const w of workers) {
    if (!w.async) errors.push(notSupported('worker without async (classic worker mode)', w.source));
    if (w.watch.length > 0) errors.push(notSupported('worker watch', w.source));
  }
  if (workers.length === 0) {
    errors.push(
      new ConfigError(
        `${config.configFile}: no async worker to send requests to: add "worker { file <path>; async }" to the frankenphp global block (php-server: --worker FILE --async)`,
      ),
    );
  }
  if (workers.length > 1) errors.push(notSupported('more than one worker', workers[1]!.source));

  const g = config.global;
  if (g) {
    const unsupported: [keyof typeof g, string][] = [
      ['httpPort', 'http_port'],
      ['httpsPort', 'https_port'],
      ['autoHttps', 'auto_https'],
      ['shutdownDelayMs', 'shutdown_delay'],
      ['log', 'log'],
    ];
    for (const [key, name] of unsupported) if (g[key] !== undefined) errors.push(notSupported(`global option ${name}`, g.source));
    // `admin off` agrees with phpasync (there is no admin API); an address does not.
    if (g.admin !== undefined && g.admin !== false) errors.push(notSupported('global option admin <address>', g.source));
  }

  if (config.sites.length > 1) errors.push(notSupported('more than one site block', config.sites[1]!.source));
  for (const site of config.sites) {
    if (site.addresses.length > 1) errors.push(notSupported('more than one address for a site', site.addresses[1]!.source));
    for (const a of site.addresses) if (a.scheme === 'https') errors.push(notSupported('https', a.source));
    if (site.tls) errors.push(notSupported('tls', site.tls.source));
    for (const l of site.logs ?? []) errors.push(notSupported('log', l.source));
    const walk = (ds: DirectiveConfig[]): void => {
      for (const d of ds) {
        if (!SUPPORTED_SITE_DIRECTIVES.has(d.name)) errors.push(notSupported(d.name, d.source));
        if (d.name === 'request_body' && d.match) errors.push(notSupported('request_body with a matcher', d.source));
        if (d.name === 'route') walk(d.children);
      }
    };
    walk(site.directives);
  }
  return errors;
}

export interface RunOptions {
  watch: boolean;
}

/** The largest request body the site accepts (`request_body { max_size }`), if it sets one. */
function bodyLimitOf(config: PhpasyncConfig): number | undefined {
  let limit: number | undefined;
  const walk = (ds: DirectiveConfig[]): void => {
    for (const d of ds) {
      const max = d.requestBody?.maxSize;
      if (d.name === 'request_body' && max !== undefined) limit = limit === undefined ? max : Math.min(limit, max);
      if (d.name === 'route') walk(d.children);
    }
  };
  for (const site of config.sites) walk(site.directives);
  return limit;
}

/** What a supervised child (src/supervisor/child.ts) changes in the app it builds. */
export interface BuildOptions {
  /** PHP threads, instead of the worker's num (on NTS, num counts processes). */
  threads?: number;
  /** Fields every log line carries (the child's id). */
  logBindings?: Record<string, unknown>;
}

/** Builds the Fastify app for a runnable config (no listen). */
export async function buildServer(config: PhpasyncConfig, build: BuildOptions = {}): Promise<FastifyInstance> {
  const errors = checkRunnable(config);
  if (errors.length > 0) throw errors[0];
  const worker = allWorkers(config)[0];
  if (!worker) {
    throw new PhpasyncError(
      'PHPASYNC_NO_ASYNC_WORKER',
      `${config.configFile}: no async worker: add "worker { file <path>; async }" to the frankenphp global block`,
    );
  }
  const timeouts = effectiveTimeouts(config.global?.timeouts);
  const app = Fastify({
    // Node checks read_header/read_body only at this interval (its default is 30 s).
    http: { connectionsCheckingInterval: checkingIntervalMs(timeouts) },
    logger: {
      level: config.global?.debug ? 'debug' : 'info',
      ...(build.logBindings ? { base: { pid: process.pid, hostname: os.hostname(), ...build.logBindings } } : {}),
    },
    // Like Caddy, no access log unless asked for (the `log` directive, not supported yet).
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
  });
  applyTimeouts(app.server, timeouts, app.log);
  // A path the worker's `match` does not take would go to static files or classic scripts,
  // neither built yet: 404, as FrankenPHP answers when no such file exists.
  const workerTakes = compileWorkerMatch(worker.match);
  if (workerTakes) {
    app.addHook('onRequest', (request, reply, done) => {
      if (workerTakes(request.raw.url ?? '/')) return done();
      reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('Not Found\n');
    });
  }
  const numThreads = config.frankenphp?.numThreads;
  if (numThreads !== undefined && numThreads !== worker.num) {
    app.log.info(
      { numThreads, workerThreads: worker.num },
      'num_threads counts classic PHP threads too; phpasync runs only the async worker threads',
    );
  }
  await app.register(phpasync, {
    workerFile: worker.file,
    threads: build.threads ?? worker.num,
    bufferSize: worker.bufferSize,
    ...(worker.maxCoroutines !== undefined ? { maxCoroutines: worker.maxCoroutines } : {}),
    phpIni: config.frankenphp?.phpIni ?? {},
    env: worker.env,
    ...(worker.requestTimeoutMs !== undefined ? { requestTimeoutMs: worker.requestTimeoutMs } : {}),
    ...(worker.maxRequests !== undefined ? { maxRequests: worker.maxRequests } : {}),
    ...(worker.maxConsecutiveFailures !== undefined ? { maxConsecutiveFailures: worker.maxConsecutiveFailures } : {}),
    ...(bodyLimitOf(config) !== undefined ? { bodyLimit: bodyLimitOf(config)! } : {}),
  });
  return app;
}

/** Starts the server and resolves once it has stopped after SIGINT/SIGTERM. */
export async function runServer(config: PhpasyncConfig, options: RunOptions): Promise<void> {
  if (options.watch) throw notSupported('run --watch', { file: config.configFile, line: 1, column: 1 });
  const site = config.sites[0];
  const address = site?.addresses[0];
  const host = address ? address.bind ?? address.host : '';
  const listenHost = host === '' ? '0.0.0.0' : host;
  // Bound before PHP boots: a port in use fails here, before the worker file runs.
  const listener = await bindListener(listenHost, address?.port ?? 8080);
  let app: FastifyInstance;
  try {
    app = await buildServer(config);
  } catch (err) {
    listener.close();
    throw err;
  }
  const conns = gracefulConnections(app.server);
  try {
    // Node's server.listen({ handle }) serves on an already bound socket handle; Fastify
    // passes its options through to it.
    await app.listen({ host: listenHost, handle: listener.handle } as FastifyListenOptions);
    listener.adopt(app.server);
  } catch (err) {
    listener.close();
    await app.close(); // stops the PHP threads, or they would keep the process alive
    throw err;
  }

  reportIgnoredSignalsWith((signal) =>
    app.log.info({ signal }, 'signal ignored: not implemented (stop with SIGTERM or SIGINT)'),
  );

  const drainMs = config.global?.drainTimeoutMs ?? DEFAULT_DRAIN_MS;
  await new Promise<void>((resolve, reject) => {
    let closing = false;
    // A PHP thread gave up (its worker file keeps failing after a restart): exit 1.
    app.phpasync.onFatal = (message) => {
      if (closing) return;
      closing = true;
      app.close().finally(() =>
        reject(new PhpasyncError('PHPASYNC_WORKER_FAILED', `the PHP worker stopped: ${message}`)),
      );
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) {
        app.log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      closing = true;
      app.log.info({ signal, drainMs }, 'shutting down'); // no new connections; in-flight requests may finish within drainMs
      // Past the drain time, what still runs is cancelled (503 to its client, its handler
      // interrupted) so that the close below can finish.
      const drain = setTimeout(() => {
        const n = app.phpasync.cancelAll();
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
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
