// The Fastify plugin: `app.register(phpasync, options)` sends every request of its scope to
// the PHP worker's coroutines. The CLI mounts it; applications may mount it themselves.
import http from 'node:http';

import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

import { BODY_LIMIT_BYTES, ENGINE, engineOptions, rangeText, type EngineOptions } from '../config/defaults.js';
import { mustWaitTurn, whenTurnComes } from './connection-turns.js';
import { directDispatch, type DirectOptions } from './direct.js';
import { encodeEnvelope } from './envelope.js';
import { httpAnswer, PhpasyncError } from './errors.js';
import { PhpEngine } from './php-engine.js';
import { trackLatestRequest } from './pipelining.js';
import { lazyChildLoggers, requestLoggersLazy } from './lazy-logger.js';
import { guardRequests } from './request-line.js';
import { scriptOf } from './scripts.js';

/** The engine's options (src/config/defaults.ts fills in those left out) and the body limit. */
export interface PhpasyncPluginOptions extends Partial<EngineOptions> {
  /** Absolute path of the worker file that calls FrankenPHP\HttpServer::onRequest(). */
  workerFile: string;
  /** Largest request body accepted, in bytes (default 64 MiB); larger ones get 413. */
  bodyLimit?: number;
  /** Only requests under this path go to PHP (default: all of them). PHP sees the full URI. */
  prefix?: string;
  /** How long a request may wait for a ring slot when every ring is full (default 100 ms; 0: 503 at once). */
  maxWaitMs?: number;
  /** GETs and HEADs without a body skip Fastify's routing (src/server/direct.ts), with the app's
   * request ids. Only for an app with no hook or route PHP's requests need, and no prefix. */
  direct?: Omit<DirectOptions, 'fastifyPath'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    phpasync: PhpEngine;
  }
}

/** PHPASYNC_COPY_THRESHOLD=<bytes> overrides the write() copy threshold (measurements). */
function envCopyThreshold(): number | undefined {
  const v = process.env.PHPASYNC_COPY_THRESHOLD;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  const { min, max } = ENGINE.copyThreshold;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new PhpasyncError('PHPASYNC_ENV_VALUE', ['PHPASYNC_COPY_THRESHOLD', rangeText(ENGINE.copyThreshold), v]);
  }
  return n;
}

const phpasyncPlugin: FastifyPluginAsync<PhpasyncPluginOptions> = async (app: FastifyInstance, opts) => {
  const engine = await PhpEngine.start(engineOptions({ ...opts, copyThreshold: opts.copyThreshold ?? envCopyThreshold() }), app.log);
  app.decorate('phpasync', engine);
  if (opts.maxWaitMs !== undefined) engine.maxWaitMs = opts.maxWaitMs;
  trackLatestRequest(app.server);
  app.addHook('preClose', async () => {
    engine.closing = true;
  });
  // Stop PHP after Fastify has finished the in-flight requests (onClose runs after that).
  app.addHook('onClose', async () => {
    await engine.stop();
  });

  // Every method Node's parser accepts goes to PHP, with its body if it has one (GET and
  // TRACE too, as in Caddy; Fastify would drop theirs). HEAD stays bodyless. CONNECT never
  // reaches routes (Node emits 'connect', below); method tokens outside http.METHODS are
  // refused 400 by Node's parser (HPE_INVALID_METHOD) before any JS runs.
  for (const m of PHP_METHODS) app.addHttpMethod(m, { hasBody: true, overrideExisting: true });
  // Without a listener Node drops a CONNECT's connection without a word.
  app.server.on('connect', refuseConnect);
  const bodyLimit = opts.bodyLimit ?? BODY_LIMIT_BYTES;
  const prefixed = opts.prefix !== undefined && opts.prefix !== '' && opts.prefix !== '/';
  const direct = opts.direct && !prefixed ? directDispatch(engine, { ...opts.direct, ...(STATS_ROUTE ? { fastifyPath: STATS_PATH } : {}) }) : undefined;
  guardRequests(app.server, bodyLimit, direct);
  // The routes live in a scope of their own: the raw-body parser and the prefix stay there, so
  // the app's other routes keep their JSON parsing.
  await app.register(phpRoutes, { prefix: opts.prefix ?? '', engine, bodyLimit });
};

const STATS_ROUTE = process.env.PHPASYNC_TEST_STATS === '1';
const STATS_PATH = '/__phpasync/stats';

const PHP_METHODS = http.METHODS.filter((m) => m !== 'CONNECT' && m !== 'HEAD');

interface RoutesOptions {
  prefix: string;
  engine: PhpEngine;
  bodyLimit: number;
}

async function phpRoutes(scope: FastifyInstance, { prefix, engine, bodyLimit }: RoutesOptions): Promise<void> {
  // PHP gets the body as raw bytes, whatever the content type.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Tests read the zero-copy counters here; the route exists only with PHPASYNC_TEST_STATS=1.
  if (STATS_ROUTE) scope.get(STATS_PATH, async () => engine.stats());

  const handler = (request: FastifyRequest, reply: FastifyReply): void => {
    const body = Buffer.isBuffer(request.body) ? request.body : null;
    reply.hijack(); // the response is written from PHP's frames, straight to the socket
    if (mustWaitTurn(request.raw, reply.raw)) {
      whenTurnComes(request.raw, reply.raw, () => engine.submit(encodeEnvelope(request.raw, request.protocol, scriptOf(request.raw)), body, reply));
      return;
    }
    engine.submit(encodeEnvelope(request.raw, request.protocol, scriptOf(request.raw)), body, reply);
  };
  const method = [...PHP_METHODS, 'HEAD'];
  // request.log made on first use (src/server/lazy-logger.ts): by the app's logger itself when
  // the CLI made its children lazy, else by a factory of this route's.
  const logging = requestLoggersLazy(scope) ? {} : { childLoggerFactory: lazyChildLoggers(scope.childLoggerFactory) };
  scope.route({ method, url: '/*', bodyLimit, handler, ...logging });
  // Under a prefix, '/*' is '/prefix/*': the prefix itself is a route too.
  if (prefix !== '' && prefix !== '/') scope.route({ method, url: '/', bodyLimit, handler, ...logging });
}

/** CONNECT asks for a tunnel: not supported yet, said in a 501 the client can read. */
function refuseConnect(_req: http.IncomingMessage, socket: import('node:stream').Duplex): void {
  const a = httpAnswer('PHPASYNC_CONNECT');
  // The socket is ours now: a client reset with no listener would throw in the process.
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${a.status} ${a.reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(a.body)}\r\nConnection: close\r\n\r\n${a.body}`,
  );
}

// The decorator and the close hooks belong to the app that registers us (fastify-plugin); the
// routes are encapsulated in phpRoutes.
const plugin = fp(phpasyncPlugin, { fastify: '5.x', name: 'phpasync' });

export default plugin;
export { plugin as phpasync };
