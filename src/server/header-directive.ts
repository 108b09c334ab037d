// Caddy's `header` directive on responses: every response of a matching request, PHP's,
// static files, responders and proxied ones alike. Without `defer`, set and add go on the
// response before the handler runs, so the handler's own header of that name wins (Node's
// writeHead replaces a stored header it is given again). Deferred operations (`defer`, `>Field`,
// and delete, default and replace, which Caddy always defers) run when the head goes out, on
// whatever the handler set: writeHead is wrapped on that one response, and write/end too, for
// heads Node sends implicitly (HTTP/2 compat responses never call writeHead for those).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

import type { HeaderConfig, HeaderOp } from '../config/model.js';
import { fillPlaceholders } from './responders.js';

type Res = ServerResponse;

/** One operation ready to run on a response; `scheme` fills {http.request.scheme}. */
type Apply = (res: Res, req: IncomingMessage, scheme: string) => void;

/** Go's `${1}`/`${name}` replacement syntax, as JavaScript's `$1`/`$<name>`. */
function jsReplacement(s: string): string {
  return s.replace(/\$\{(\w+)\}/g, (_all, g: string) => (/^\d+$/.test(g) ? `$${g}` : `$<${g}>`));
}

/** `-Field*`, `-*Field`: Caddy deletes every field the wildcard matches. */
function nameTest(field: string): ((n: string) => boolean) | undefined {
  const f = field.toLowerCase();
  if (!f.includes('*')) return undefined;
  if (f === '*') return () => true;
  if (f.startsWith('*') && f.endsWith('*')) return (n) => n.includes(f.slice(1, -1));
  if (f.endsWith('*')) return (n) => n.startsWith(f.slice(0, -1));
  return (n) => n.endsWith(f.slice(1));
}

function compileOp(op: HeaderOp): Apply {
  const field = op.field;
  const value = op.value ?? '';
  const fill = (req: IncomingMessage, scheme: string): string => fillPlaceholders(value, req, scheme);
  switch (op.op) {
    case 'set':
      return (res, req, scheme) => res.setHeader(field, fill(req, scheme));
    case 'add':
      return (res, req, scheme) => res.appendHeader(field, fill(req, scheme));
    case 'default':
      return (res, req, scheme) => {
        if (!res.hasHeader(field)) res.setHeader(field, fill(req, scheme));
      };
    case 'delete': {
      const test = nameTest(field);
      if (!test) return (res) => res.removeHeader(field);
      return (res) => {
        for (const n of res.getHeaderNames()) if (test(n)) res.removeHeader(n);
      };
    }
    case 'replace': {
      // Caddy's Caddyfile reads <find> as a regular expression (validated at adapt time).
      const re = new RegExp(op.find ?? '', 'g');
      const to = jsReplacement(value);
      return (res) => {
        const cur = res.getHeader(field);
        if (cur === undefined) return;
        const list = (Array.isArray(cur) ? cur : [String(cur)]).map((v) => v.replace(re, to));
        res.setHeader(field, list.length === 1 ? list[0]! : list);
      };
    }
  }
}

export interface HeaderDirective {
  /** Runs the operations on this request's response (now, or when its head goes out). */
  apply(req: IncomingMessage, res: Res, scheme: string): void;
}

export function compileHeader(cfg: HeaderConfig): HeaderDirective {
  const ops = cfg.ops.map(compileOp);
  const deferred = cfg.defer || cfg.ops.some((o) => o.op === 'delete' || o.op === 'default' || o.op === 'replace');
  const run = (res: Res, req: IncomingMessage, scheme: string): void => {
    for (const op of ops) op(res, req, scheme);
  };
  if (!deferred) return { apply: (req, res, scheme) => run(res, req, scheme) };
  return { apply: (req, res, scheme) => beforeHead(res, () => run(res, req, scheme)) };
}

const BEFORE_HEAD = Symbol('phpasync.beforeHead');
type Hooked = Res & { [BEFORE_HEAD]?: (() => void)[] };

/** Runs `fn` (after those registered before it) right before the response's head is sent. */
export function beforeHead(res: Res, fn: () => void): void {
  const r = res as Hooked;
  const list = r[BEFORE_HEAD];
  if (list) {
    list.push(fn);
    return;
  }
  const fns = [fn];
  r[BEFORE_HEAD] = fns;
  let done = false;
  const fire = (): void => {
    if (done || res.headersSent) return;
    done = true;
    for (const f of fns) f();
  };
  const writeHead = res.writeHead;
  // The handler's headers are stored first (as Node's writeHead would merge them), so the
  // operations see and change them.
  res.writeHead = function (this: Res, status: number, a?: unknown, b?: unknown): Res {
    const reason = typeof a === 'string' ? a : undefined;
    const headers = (typeof a === 'string' ? b : a) as OutgoingHttpHeaders | unknown[] | undefined;
    const merged = !done && headers !== undefined;
    if (merged) {
      if (Array.isArray(headers)) {
        const flat = headers.flat() as unknown[];
        for (let i = 0; i < flat.length; i += 2) res.removeHeader(String(flat[i]));
        for (let i = 0; i < flat.length; i += 2) res.appendHeader(String(flat[i]), flat[i + 1] as string);
      } else {
        for (const [k, v] of Object.entries(headers)) if (v !== undefined) res.setHeader(k, v);
      }
    }
    fire();
    const head = writeHead as (this: Res, ...args: unknown[]) => Res;
    if (merged || !headers) return reason === undefined ? head.call(this, status) : head.call(this, status, reason);
    return head.call(this, status, a, b);
  } as Res['writeHead'];
  const write = res.write;
  res.write = function (this: Res, ...args: unknown[]) {
    fire();
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Res['write'];
  const end = res.end;
  res.end = function (this: Res, ...args: unknown[]) {
    fire();
    return (end as (...a: unknown[]) => Res).apply(this, args);
  } as Res['end'];
}
