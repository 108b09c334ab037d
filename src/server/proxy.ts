// reverse_proxy: requests sent on to http upstreams through @fastify/reply-from (undici), the
// URI as rewritten so far, the Host as the client sent it and X-Forwarded-For/-Proto/-Host
// added, as Caddy does. Upstreams are picked by the lb_policy among those up: an active check
// (health_uri every health_interval) marks one down until a check passes again; a passive one
// (fail_duration) counts connection failures and unhealthy_status answers for that long, and
// max_fails of them mark it down. No upstream up: 503; the chosen one unreachable: 502.
// Upgrades (WebSocket) are not proxied yet: 501.
import type { FastifyBaseLogger } from 'fastify';
import replyFrom from '@fastify/reply-from';

import type { DirectiveConfig, ProxyConfig } from '../config/model.js';
import { httpAnswer } from './errors.js';
import { send } from './front.js';
import type { RouteState, TerminalFactory } from './routes.js';

/** Caddy's defaults. */
const HEALTH_INTERVAL_MS = 30_000;
const HEALTH_TIMEOUT_MS = 5_000;

export { replyFrom };

function statusTest(list: string[] | undefined, fallback: (s: number) => boolean): (s: number) => boolean {
  if (!list) return fallback;
  return (s) => list.some((p) => (p.endsWith('xx') ? Math.floor(s / 100) === Number(p[0]) : s === Number(p)));
}

class Upstream {
  /** Up by the active check (true until a check says otherwise). */
  activeUp = true;
  /** Times of the failures still counted by the passive check. */
  fails: number[] = [];
  inflight = 0;
  constructor(readonly origin: string) {}
}

class Proxy {
  private readonly ups: Upstream[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly healthy: (s: number) => boolean;
  private readonly unhealthy: ((s: number) => boolean) | undefined;

  constructor(
    private readonly cfg: ProxyConfig,
    private readonly log: FastifyBaseLogger,
  ) {
    this.ups = cfg.upstreams.map((o) => new Upstream(o));
    this.healthy = statusTest(cfg.healthStatus, (s) => s >= 200 && s < 300);
    this.unhealthy = cfg.unhealthyStatus ? statusTest(cfg.unhealthyStatus, () => false) : undefined;
    if (cfg.healthUri !== undefined) {
      void this.checkAll();
      this.timer = setInterval(() => void this.checkAll(), cfg.healthIntervalMs ?? HEALTH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async checkAll(): Promise<void> {
    await Promise.all(this.ups.map((u) => this.check(u)));
  }

  private async check(u: Upstream): Promise<void> {
    let why: string | undefined;
    try {
      const r = await fetch(u.origin + this.cfg.healthUri!, { signal: AbortSignal.timeout(this.cfg.healthTimeoutMs ?? HEALTH_TIMEOUT_MS), redirect: 'manual' });
      await r.body?.cancel();
      if (!this.healthy(r.status)) why = `status ${r.status}`;
    } catch (err) {
      why = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    }
    const up = why === undefined;
    if (up !== u.activeUp) {
      if (up) this.log.info({ upstream: u.origin }, 'reverse_proxy: upstream is up again (health check passed)');
      else this.log.warn({ upstream: u.origin, why }, 'reverse_proxy: upstream is down (health check failed)');
    }
    u.activeUp = up;
  }

  private available(u: Upstream, now: number): boolean {
    if (!u.activeUp) return false;
    const d = this.cfg.failDurationMs;
    if (d === undefined) return true;
    while (u.fails.length > 0 && u.fails[0]! <= now - d) u.fails.shift();
    return u.fails.length < this.cfg.maxFails;
  }

  private pick(): Upstream | undefined {
    const now = Date.now();
    const ups = this.ups.filter((u) => this.available(u, now));
    if (ups.length === 0) return undefined;
    switch (this.cfg.lbPolicy) {
      case 'first':
        return ups[0];
      case 'round_robin': {
        // Over every upstream, skipping those down, so that the turn does not shift when one goes down.
        for (let i = 0; i < this.ups.length; i++) {
          const u = this.ups[this.next++ % this.ups.length]!;
          if (ups.includes(u)) return u;
        }
        return ups[0];
      }
      case 'least_conn':
        return ups.reduce((a, b) => (b.inflight < a.inflight ? b : a));
      case 'random':
        return ups[Math.floor(Math.random() * ups.length)];
    }
  }

  private failed(u: Upstream, why: string): void {
    if (this.cfg.failDurationMs === undefined) return;
    u.fails.push(Date.now());
    this.log.warn({ upstream: u.origin, why, fails: u.fails.length }, 'reverse_proxy: request to upstream failed');
  }

  handle(s: RouteState): void {
    const { request, reply, req } = s;
    // Node hands an Upgrade request over as a plain one (no 'upgrade' listener): said, not
    // sent on as a request the upstream would misread (nor counted against it).
    const upgrade = req.headers.upgrade;
    if (upgrade !== undefined && req.httpVersionMajor === 1) {
      send(reply, httpAnswer('PHPASYNC_PROXY_UPGRADE', upgrade));
      return;
    }
    const u = this.pick();
    if (!u) {
      send(reply, httpAnswer('PHPASYNC_PROXY_NO_UPSTREAM'));
      return;
    }
    u.inflight++;
    reply.raw.once('close', () => u.inflight--);
    // reply-from reads the query from the URL it is given, the request's only when that has none.
    req.url = s.uri;
    // The body streams through (reply-from sends a stream body as it comes).
    if (req.method !== 'GET' && req.method !== 'HEAD') (request as unknown as { body: unknown }).body = req;
    const host = req.headers.host ?? (req.headers[':authority'] as string | undefined);
    const remote = req.socket.remoteAddress ?? '';
    reply.from(u.origin + s.uri, {
      retryDelay: () => null,
      rewriteRequestHeaders: (_r, headers) => {
        const prior = headers['x-forwarded-for'];
        return {
          ...headers,
          ...(host !== undefined ? { host } : {}),
          'x-forwarded-for': prior ? `${String(prior)}, ${remote}` : remote,
          'x-forwarded-proto': s.scheme,
          ...(host !== undefined ? { 'x-forwarded-host': host } : {}),
        };
      },
      onResponse: (_r, rep, res) => {
        if (this.unhealthy?.(res.statusCode)) this.failed(u, `status ${res.statusCode}`);
        void rep.send(res.stream);
      },
      onError: (_rep, { error }) => {
        const cause = (error as Error & { cause?: Error }).cause;
        const why = cause?.message ?? error.message;
        this.failed(u, why);
        this.log.warn({ reqId: request.id, upstream: u.origin, why }, 'reverse_proxy: upstream unreachable: answered 502');
        send(reply, httpAnswer('PHPASYNC_PROXY_FAILED', u.origin));
      },
    });
  }
}

/** The proxies of a server: built as the routes are, closed with the app. */
export class Proxies {
  private readonly all: Proxy[] = [];

  constructor(private readonly log: FastifyBaseLogger) {}

  readonly terminal: TerminalFactory = (d: DirectiveConfig) => {
    if (!d.proxy) return undefined;
    const p = new Proxy(d.proxy, this.log);
    this.all.push(p);
    return (s) => p.handle(s);
  };

  close(): void {
    for (const p of this.all) p.close();
  }
}
