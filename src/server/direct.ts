// Requests that go to PHP without Fastify's per-request work. For the CLI's plainest setup (one
// worker taking every path: no hook, no other route, no body to parse), Fastify's routing only
// builds a Request and a Reply that PHP's hijacked response never uses. A GET or HEAD without a
// body over HTTP/1 skips it here and is handed to the engine with a stand-in reply carrying
// what the engine reads (the response, the request, its id). Measured: hello world at c=50,
// main-thread CPU per request 18.3-19.2 us -> 17.0-17.9 us (bench/README.md). Anything else
// (a body, HTTP/2, the server closing, which Fastify answers 503) takes Fastify's route.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { FastifyReply } from 'fastify';

import { mustWaitTurn, whenTurnComes } from './connection-turns.js';
import { encodeEnvelope } from './envelope.js';
import { ECHO_REQUEST_ID } from './hook-headers.js';
import type { PhpEngine } from './php-engine.js';
import { markLatestRequest } from './pipelining.js';
import { scriptOf } from './scripts.js';

export interface DirectOptions {
  /** The app's request ids (Fastify's genReqId option). */
  genReqId: (req: IncomingMessage) => string;
  /** Whether responses echo the id in X-Request-ID (src/server/request-id.ts). */
  echoRequestId: boolean;
  /** A path Fastify must still route (a route of its own). */
  fastifyPath?: string;
}

/** The reply the engine reads: FastifyReply's raw, request.raw/id/method and getHeaders()
 * (no hook set any header). One class, no closure per request. */
class StandInReply {
  readonly request: { id: string; method: string | undefined; raw: IncomingMessage };
  constructor(
    req: IncomingMessage,
    readonly raw: ServerResponse,
    id: string,
  ) {
    this.request = { id, method: req.method, raw: req };
  }
  getHeaders(): Record<string, never> {
    return {};
  }
}
/** The same, marked to echo the request id (hook-headers.ts reads the mark). */
class EchoingStandInReply extends StandInReply {}
(EchoingStandInReply.prototype as unknown as Record<symbol, boolean>)[ECHO_REQUEST_ID] = true;

function standInReply(req: IncomingMessage, res: ServerResponse, id: string, echo: boolean): FastifyReply {
  return (echo ? new EchoingStandInReply(req, res, id) : new StandInReply(req, res, id)) as unknown as FastifyReply;
}

/** The dispatcher for guardRequests(): true when it handed the request to PHP. */
export function directDispatch(engine: PhpEngine, options: DirectOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { genReqId, echoRequestId, fastifyPath } = options;
  return (req, res) => {
    const method = req.method;
    if ((method !== 'GET' && method !== 'HEAD') || req.httpVersionMajor !== 1 || engine.closing) return false;
    const headers = req.headers;
    if (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) return false;
    const url = req.url ?? '';
    // The asterisk form and Fastify's own routes stay Fastify's.
    if (url.charCodeAt(0) !== 0x2f || (fastifyPath !== undefined && url === fastifyPath)) return false;
    markLatestRequest(req);
    const reply = standInReply(req, res, genReqId(req), echoRequestId);
    if (mustWaitTurn(req, res)) {
      whenTurnComes(req, res, () => engine.submit(encodeEnvelope(req, 'http', scriptOf(req)), null, reply));
      return true;
    }
    try {
      engine.submit(encodeEnvelope(req, 'http', scriptOf(req)), null, reply);
    } catch {
      // Nothing was handed over (submit throws before it registers the request): Fastify's
      // route tries again, and its handling of a throwing handler applies.
      return false;
    }
    return true;
  };
}
