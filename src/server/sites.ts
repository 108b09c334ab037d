// Several site blocks in one server: a request belongs to a site by the socket it came in on
// (its local port) and its Host, the way Caddy matches them: an exact name first, then a
// `*.name` wildcard (one label), then an address without a name (`:8080`) or with an IP
// literal, which takes every Host. A request no site takes is answered 404.
import type { IncomingMessage } from 'node:http';
import net from 'node:net';

import type { FastifyBaseLogger, onRequestHookHandler } from 'fastify';

import type { PhpasyncConfig, SiteConfig, WorkerConfig } from '../config/model.js';
import type { ResponseEncoder } from './encode.js';
import { httpAnswer } from './errors.js';
import { send, siteFront, type Front } from './front.js';
import type { AccessLogs } from './access-log.js';
import { buildRoutes, type TerminalFactory } from './routes.js';

const SITE = Symbol('phpasync.site');
type Tagged = IncomingMessage & { [SITE]?: Front };

/** A bound socket's port and the sites it serves, each with the host written in its address. */
export interface BoundSites {
  port: number;
  sites: { site: SiteConfig; host: string }[];
}

export interface SiteRouting {
  hook?: onRequestHookHandler;
  /** The `encode` of the request's site. */
  encoderFor?: (req: IncomingMessage) => ResponseEncoder | undefined;
}

/** The Host of a request without its port, lower case (HTTP/2: :authority). */
function requestHost(req: IncomingMessage): string {
  let h = req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '';
  if (h.startsWith('[')) h = h.slice(1, h.indexOf(']') >>> 0);
  else {
    const colon = h.lastIndexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  return h.toLowerCase().replace(/\.$/, '');
}

/** 0: exact, 1: wildcard, 2: any host; -1: no match. */
function hostRank(pattern: string, host: string): number {
  if (pattern === '' || net.isIP(pattern)) return 2;
  if (pattern.startsWith('*.')) {
    const dot = host.indexOf('.');
    return dot > 0 && host.slice(dot) === pattern.slice(1) ? 1 : -1;
  }
  return pattern === host ? 0 : -1;
}

/** Whether a site address's host matches a TLS server name (SNI). */
export function hostMatches(pattern: string, host: string): boolean {
  return hostRank(pattern, host.toLowerCase()) >= 0;
}

/** worker: absent when the sites run classic scripts. */
/** classic: next to the worker, classic scripts run in classic-scripts processes. */
export function routeSites(config: PhpasyncConfig, bound: BoundSites[], worker: WorkerConfig | undefined, log: FastifyBaseLogger, extras: { terminal?: TerminalFactory; accessLogs?: AccessLogs; classic?: boolean } = {}): SiteRouting {
  const fronts = new Map<SiteConfig, Front>(config.sites.map((s, i) => {
    const front = buildRoutes(s, config.configFile, siteFront(s, config.configFile, worker, log, extras.classic ? { site: i } : undefined), log, extras.terminal);
    return [s, extras.accessLogs ? extras.accessLogs.wrap(s, front) : front];
  }));
  const one = config.sites.length === 1 && bound.length === 1 && bound[0]!.sites.every((s) => hostRank(s.host, '') === 2);
  if (one) {
    // One site on one socket, whatever the Host: no per-request lookup (the PHP path stays as it was).
    const front = fronts.get(config.sites[0]!)!;
    const encoder = front.encoder;
    const notFound: onRequestHookHandler = (_request, reply) => send(reply, httpAnswer('PHPASYNC_NOT_MATCHED'));
    const hook = front.hook ?? (front.php ? undefined : notFound);
    return { ...(hook ? { hook } : {}), ...(encoder ? { encoderFor: () => encoder } : {}) };
  }

  const byPort = new Map<number, { front: Front; host: string }[]>();
  for (const b of bound) {
    const list = byPort.get(b.port) ?? [];
    for (const s of b.sites) list.push({ front: fronts.get(s.site)!, host: s.host });
    byPort.set(b.port, list);
  }
  const pick = (req: IncomingMessage): Front | undefined => {
    const list = byPort.get(req.socket.localPort ?? -1);
    if (!list) return undefined;
    const host = requestHost(req);
    let best: Front | undefined;
    let bestRank = 3;
    for (const e of list) {
      const r = hostRank(e.host, host);
      if (r >= 0 && r < bestRank) {
        best = e.front;
        bestRank = r;
      }
    }
    return best;
  };
  const hook: onRequestHookHandler = (request, reply, done) => {
    const front = pick(request.raw);
    if (front) (request.raw as Tagged)[SITE] = front;
    if (front?.hook) return front.hook.call(request.server, request, reply, done);
    if (front?.php) return done();
    send(reply, front ? httpAnswer('PHPASYNC_NOT_MATCHED') : httpAnswer('PHPASYNC_NO_SITE', requestHost(request.raw)));
  };
  const anyEncoder = [...fronts.values()].some((f) => f.encoder);
  return { hook, ...(anyEncoder ? { encoderFor: (req) => (req as Tagged)[SITE]?.encoder } : {}) };
}
