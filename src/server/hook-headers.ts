// Headers the app's Fastify hooks set on the reply (@fastify/cors, @fastify/helmet) before PHP's
// response was hijacked, and the X-Request-ID echo: they join PHP's head, and a header PHP set
// itself wins over a hook's of the same name.
import { createRequire } from 'node:module';

import type { FastifyReply } from 'fastify';

/** Where Fastify keeps the headers set on a reply (reply.header()). Read directly: getHeaders()
 * builds an object per response, merging in the raw response's headers, which Node's writeHead
 * merges itself (the list given wins, as PHP's headers must). Absent in another Fastify
 * version: getHeaders() then. */
const REPLY_HEADERS = (createRequire(import.meta.url)('fastify/lib/symbols.js') as { kReplyHeaders?: unknown }).kReplyHeaders;
const replyHeaders: (reply: FastifyReply) => Record<string, unknown> | undefined =
  typeof REPLY_HEADERS === 'symbol'
    ? (reply) => (reply as unknown as Record<symbol, Record<string, unknown> | undefined>)[REPLY_HEADERS]
    : (reply) => reply.getHeaders();

/** Set on the replies of an app that echoes request ids (request-id.ts): hijacked heads get
 * X-Request-ID here rather than from an onRequest hook that every request would run. */
export const ECHO_REQUEST_ID = Symbol('phpasync.echoRequestId');

type Marked = FastifyReply & { [ECHO_REQUEST_ID]?: true };

/** Whether the flat list has a header of that lowercase name. */
function has(list: string[], name: string): boolean {
  for (let i = 0; i < list.length; i += 2) {
    const n = list[i]!;
    if (n.length === name.length && n.toLowerCase() === name) return true;
  }
  return false;
}

const NONE: Record<string, unknown> = Object.freeze({});

/** Appends the reply's hook headers to `list` (flat name, value pairs) where PHP set none. */
export function addHookHeaders(list: string[], reply: FastifyReply): void {
  // undefined: a stand-in reply (scripts-response.ts's hopReply) carries no hook headers.
  const hooks = replyHeaders(reply) ?? NONE;
  // First, where the onRequest hook that used to set it put it; a hook's own value wins.
  if ((reply as Marked)[ECHO_REQUEST_ID] === true && hooks['x-request-id'] === undefined && !has(list, 'x-request-id')) {
    list.push('x-request-id', reply.request.id);
  }
  for (const name in hooks) {
    const value = hooks[name];
    if (value === undefined || has(list, name)) continue;
    if (Array.isArray(value)) for (const v of value) list.push(name, String(v));
    else list.push(name, String(value));
  }
}
