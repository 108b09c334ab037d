// `phpasync run`: from a typed config to a listening server, and back down on SIGINT/SIGTERM.
import os from 'node:os';

import Fastify, { LogController, type FastifyInstance, type FastifyListenOptions } from 'fastify';

import { reportIgnoredSignalsWith } from './signals.js';
import { DRAIN_TIMEOUT_MS, LISTEN_PORT, workerEngineOptions } from '../config/defaults.js';
import type { PhpasyncConfig } from '../config/model.js';
import { checkRunnable, notSupported } from '../config/runnable.js';
import { allWorkers, intoRoutes, walkDirectives } from '../config/walk.js';
import { bindListener } from './bind.js';
import { gracefulConnections } from './drain.js';
import { httpAnswer, PhpasyncError } from './errors.js';
import { applyTimeouts, checkingIntervalMs, effectiveTimeouts } from './timeouts.js';
import { loggerOptions } from './logger.js';
import { phpasync } from './plugin.js';
import { echoRequestId, genReqId } from './request-id.js';
import { compileWorkerMatch } from '../config/worker-match.js';

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
  // checkRunnable refuses a config without exactly one worker (PHPASYNC_NO_ASYNC_WORKER).
  const worker = allWorkers(config)[0]!;
  const timeouts = effectiveTimeouts(config.global?.timeouts);
  const app = Fastify({
    // Node checks read_header/read_body only at this interval (its default is 30 s).
    http: { connectionsCheckingInterval: checkingIntervalMs(timeouts) },
    logger: {
      ...(loggerOptions({ debug: config.global?.debug === true }) as Record<string, unknown>),
      ...(build.logBindings ? { base: { pid: process.pid, hostname: os.hostname(), ...build.logBindings } } : {}),
    },
    // Like Caddy, no access log unless asked for (the `log` directive, not supported yet).
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    genReqId,
  });
  echoRequestId(app);
  applyTimeouts(app.server, timeouts, app.log);
  // A path the worker's `match` does not take would go to static files or classic scripts,
  // neither built yet: 404, as FrankenPHP answers when no such file exists.
  const workerTakes = compileWorkerMatch(worker.match);
  if (workerTakes) {
    app.addHook('onRequest', (request, reply, done) => {
      if (workerTakes(request.raw.url ?? '/')) return done();
      const a = httpAnswer('PHPASYNC_NOT_MATCHED');
      reply.code(a.status).header('content-type', 'text/plain; charset=utf-8').send(a.body);
    });
  }
  const numThreads = config.frankenphp?.numThreads;
  if (numThreads !== undefined && numThreads !== worker.num) {
    app.log.info(
      { numThreads, workerThreads: worker.num },
      'num_threads counts classic PHP threads too; phpasync runs only the async worker threads',
    );
  }
  const bodyLimit = bodyLimitOf(config);
  await app.register(phpasync, {
    ...workerEngineOptions(worker, config.frankenphp?.phpIni),
    ...(build.threads !== undefined ? { threads: build.threads } : {}),
    ...(bodyLimit !== undefined ? { bodyLimit } : {}),
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
  const listener = await bindListener(listenHost, address?.port ?? LISTEN_PORT).catch((err: unknown) => {
    dropStopListener();
    throw err;
  });
  let app: FastifyInstance;
  try {
    app = await buildServer(config);
  } catch (err) {
    dropStopListener();
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
    dropStopListener();
    listener.close();
    await app.close(); // stops the PHP threads, or they would keep the process alive
    throw err;
  }

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
    onStop = onSignal;
    if (early) onSignal(early);
  });
}
