// reverse_proxy: upstreams, load balancing, active and passive health checks. The subset
// phpasync runs (src/server/proxy.ts); Caddy's other subdirectives are refused by name.

import type { ProxyConfig } from '../../config/model.js';
import { eachSubdirective, intValue, type Line } from '../line.js';
import type { Token } from '../token.js';
import { parseDuration } from '../units.js';
import type { HandlerSpec } from './types.js';

const POLICIES = ['random', 'round_robin', 'first', 'least_conn'] as const;

/** `host:port`, `http://host[:port]`, `:port` → an http origin; the rest is refused by name. */
function upstream(line: Line, t: Token): string {
  let text = t.text;
  if (text.includes('{')) line.fail(`reverse_proxy: placeholders in upstream addresses are not supported by phpasync ('${text}')`, t);
  if (/^(https|h2c):\/\//.test(text)) line.fail(`reverse_proxy: ${text.split(':')[0]} upstreams are not supported by phpasync (only http://)`, t);
  if (text.startsWith('unix/') || text.startsWith('srv+')) line.fail(`reverse_proxy: upstream '${text}' is not supported by phpasync (only host:port)`, t);
  let defaultPort = '';
  if (text.startsWith('http://')) {
    text = text.slice(7);
    defaultPort = '80';
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) line.fail(`reverse_proxy: upstream scheme in '${text}' must be http://`, t);
  if (text.includes('/')) line.fail(`reverse_proxy: upstream '${t.text}' must not have a path (rewrite the request instead)`, t);
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*)(?::(\d+))?$/.exec(text);
  if (!m) line.fail(`reverse_proxy: '${t.text}' is not an upstream address (host:port)`, t);
  const host = m[1] || 'localhost';
  const port = m[2] ?? defaultPort;
  if (port === '') line.fail(`reverse_proxy: upstream '${t.text}' needs a port (host:port)`, t);
  const n = Number(port);
  if (!(n >= 1 && n <= 65535)) line.fail(`reverse_proxy: port of '${t.text}' must be in 1..65535`, t);
  return `http://${host}:${n}`;
}

function duration(l: Line, usage: string): number {
  const t = l.single(usage);
  const ms = parseDuration(t.text);
  if (ms === undefined || ms <= 0) l.fail(`${l.label} must be a positive duration such as 10s or 500ms, got '${t.text}'`, t);
  return ms;
}

/** `200`, `2xx`: the statuses a check or a response counts as. */
function statuses(l: Line, usage: string): string[] {
  l.expectArgs(1, Infinity, usage);
  return l.args.map((t) => {
    if (!/^[1-5](\d\d|xx)$/.test(t.text)) l.fail(`${l.label}: '${t.text}' must be a status code such as 200 or a class such as 5xx`, t);
    return t.text;
  });
}

export const reverse_proxy: HandlerSpec = {
  usage: 'reverse_proxy [<matcher>] [<upstreams…>] { to; lb_policy; health_uri; health_interval; health_timeout; health_status; fail_duration; max_fails; unhealthy_status }',
  parse(line, d) {
    const cfg: ProxyConfig = { upstreams: line.args.map((t) => upstream(line, t)), lbPolicy: 'random', maxFails: 1 };
    eachSubdirective(line.block, {
      owner: 'reverse_proxy',
      handlers: {
        to(l) {
          l.expectArgs(1, Infinity, 'to <upstreams…>');
          cfg.upstreams.push(...l.args.map((t) => upstream(l, t)));
        },
        lb_policy(l) {
          const t = l.single('lb_policy random|round_robin|first|least_conn');
          if (!(POLICIES as readonly string[]).includes(t.text)) {
            l.fail(`reverse_proxy: lb_policy '${t.text}' is not supported by phpasync; supported: ${POLICIES.join(', ')}`, t);
          }
          cfg.lbPolicy = t.text as ProxyConfig['lbPolicy'];
        },
        health_uri(l) {
          const t = l.single('health_uri <uri>');
          if (!t.text.startsWith('/')) l.fail(`reverse_proxy health_uri must start with /, got '${t.text}'`, t);
          cfg.healthUri = t.text;
        },
        health_interval(l) {
          cfg.healthIntervalMs = duration(l, 'health_interval <duration>');
        },
        health_timeout(l) {
          cfg.healthTimeoutMs = duration(l, 'health_timeout <duration>');
        },
        health_status(l) {
          cfg.healthStatus = statuses(l, 'health_status <status>');
        },
        fail_duration(l) {
          cfg.failDurationMs = duration(l, 'fail_duration <duration>');
        },
        max_fails(l) {
          cfg.maxFails = intValue(l.single('max_fails <n>'), 'reverse_proxy max_fails', 1);
        },
        unhealthy_status(l) {
          cfg.unhealthyStatus = statuses(l, 'unhealthy_status <status…>');
        },
      },
      unsupported: [
        'dynamic', 'lb_retries', 'lb_try_duration', 'lb_try_interval', 'lb_retry_match', 'health_port', 'health_upstream', 'health_headers',
        'health_body', 'health_method', 'health_request_body', 'health_follow_redirects', 'health_passes', 'health_fails', 'unhealthy_latency',
        'unhealthy_request_count', 'flush_interval', 'request_buffers', 'response_buffers', 'stream_timeout', 'stream_close_delay',
        'stream_logs', 'trusted_proxies', 'header_up', 'header_down', 'method', 'rewrite', 'transport', 'handle_response', 'replace_status',
        'verbose_logs',
      ],
    });
    if (cfg.upstreams.length === 0) line.fail(`reverse_proxy needs at least one upstream; usage: ${this.usage}`);
    if ((cfg.healthIntervalMs !== undefined || cfg.healthTimeoutMs !== undefined || cfg.healthStatus) && cfg.healthUri === undefined) {
      line.fail('reverse_proxy: health_interval, health_timeout and health_status need health_uri (the path checked)');
    }
    d.proxy = cfg;
  },
};
