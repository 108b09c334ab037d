// lazyAppChildren (src/server/lazy-logger.ts): the app logger's children are made on first use,
// request loggers included, and log exactly what pino's own children would: the request id,
// a child's bindings, a child of a child's bindings on top of its parent's, a route's level.

import { Writable } from 'node:stream';

import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lazyAppChildren, requestLoggersLazy } from '../src/server/lazy-logger.js';

describe('lazyAppChildren', () => {
  const lines: Record<string, unknown>[] = [];
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    app = Fastify({ logger: { level: 'info', stream }, disableRequestLogging: true }) as unknown as FastifyInstance;
    lazyAppChildren(app);
    app.get('/log', async (request) => {
      request.log.info({ marker: 'direct' }, 'from request.log');
      const child = request.log.child({ sub: 1 });
      child.warn({ marker: 'child' }, 'from a child');
      child.child({ sub2: 2 }).error({ marker: 'grandchild' }, 'from a child of a child');
      request.log.debug({ marker: 'debug' }, 'below the level');
      return { lazy: requestLoggersLazy(app) };
    });
    app.get('/quiet', { logLevel: 'error' }, async (request) => {
      request.log.info({ marker: 'quiet-info' }, 'below the route level');
      request.log.error({ marker: 'quiet-error' }, 'at the route level');
      return 'ok';
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
  });

  it('logs through request.log and its children with the request id and every binding', async () => {
    const res = await fetch(`${base}/log`);
    expect(await res.json()).toEqual({ lazy: true });
    const byMarker = (m: string) => lines.find((l) => l.marker === m);
    const direct = byMarker('direct');
    expect(direct).toMatchObject({ level: 30, reqId: expect.any(String), msg: 'from request.log' });
    expect(byMarker('child')).toMatchObject({ level: 40, reqId: direct!.reqId, sub: 1, msg: 'from a child' });
    expect(byMarker('grandchild')).toMatchObject({ level: 50, reqId: direct!.reqId, sub: 1, sub2: 2, msg: 'from a child of a child' });
    expect(byMarker('debug')).toBeUndefined();
  });

  it("keeps a route's own log level", async () => {
    expect(await (await fetch(`${base}/quiet`)).text()).toBe('ok');
    expect(lines.find((l) => l.marker === 'quiet-info')).toBeUndefined();
    expect(lines.find((l) => l.marker === 'quiet-error')).toMatchObject({ level: 50, reqId: expect.any(String) });
  });

  it('is not claimed for a scope with a childLoggerFactory of its own', async () => {
    const other = Fastify({ logger: false }) as unknown as FastifyInstance;
    lazyAppChildren(other);
    other.setChildLoggerFactory((logger, bindings, opts) => logger.child(bindings, opts));
    expect(requestLoggersLazy(other)).toBe(false);
    expect(requestLoggersLazy(app)).toBe(true);
    await other.close();
  });
});
