// Headers the app's Fastify hooks set on the reply (@fastify/cors, @fastify/helmet, the
// X-Request-ID echo) before PHP's response was hijacked: they join PHP's head, and a header PHP
// set itself wins over a hook's of the same name.
import type { FastifyReply } from 'fastify';

/** Appends the reply's hook headers to `list` (flat name, value pairs) where PHP set none. */
export function addHookHeaders(list: string[], reply: FastifyReply): void {
  const hooks = reply.getHeaders();
  for (const name in hooks) {
    const value = hooks[name];
    if (value === undefined) continue;
    let taken = false;
    for (let i = 0; i < list.length; i += 2) {
      const n = list[i]!;
      if (n.length === name.length && n.toLowerCase() === name) {
        taken = true;
        break;
      }
    }
    if (taken) continue;
    if (Array.isArray(value)) for (const v of value) list.push(name, String(v));
    else list.push(name, String(value));
  }
}
