// Request ids: a client's (or a proxy's) X-Request-ID is the request's id in every log line and
// is echoed on the response, so one id follows a request across hosts; without one, or with one
// that could forge log fields (not a short token), Fastify's own `req-N` is used.
import type { IncomingMessage } from 'node:http';

import type { FastifyInstance } from 'fastify';

import { ECHO_REQUEST_ID } from './hook-headers.js';

const HEADER = 'x-request-id';
const TOKEN = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

let counter = 0;

export function genReqId(req: IncomingMessage): string {
  const sent = req.headers[HEADER];
  if (typeof sent === 'string' && TOKEN.test(sent)) return sent;
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `req-${counter.toString(36)}`;
}

/** Puts the id on every response Fastify sends (onSend) and, through the reply's mark, on the
 * heads written for hijacked replies (PHP's: addHookHeaders). Not an onRequest hook: that one
 * ran for every request, PHP's too, which never reach onSend. A value set before (a handler's,
 * a proxied upstream's) is kept, as it replaced the hook's before. */
export function echoRequestId(app: FastifyInstance): void {
  app.decorateReply(ECHO_REQUEST_ID as unknown as string, true);
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!reply.hasHeader(HEADER)) reply.header('X-Request-ID', request.id);
    done(null, payload);
  });
}
