// Request ids: a client's (or a proxy's) X-Request-ID is the request's id in every log line and
// is echoed on the response, so one id follows a request across hosts; without one, or with one
// that could forge log fields (not a short token), Fastify's own `req-N` is used.
import type { IncomingMessage } from 'node:http';

import type { FastifyInstance } from 'fastify';

const HEADER = 'x-request-id';
const TOKEN = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

let counter = 0;

export function genReqId(req: IncomingMessage): string {
  const sent = req.headers[HEADER];
  if (typeof sent === 'string' && TOKEN.test(sent)) return sent;
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `req-${counter.toString(36)}`;
}

/** Puts the id on every response (PHP's too: the plugin copies hook headers onto them). */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-ID', request.id);
    done();
  });
}
