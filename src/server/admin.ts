// The admin endpoint (Caddy's `admin` global option): GET /metrics when `metrics` is on, probes
// for orchestrators (/health/live answers 200 while the process runs, /health/ready 200 only
// while PHP serves, 503 once it drains), and Caddy's POST /load, which takes the JSON `phpasync
// adapt` prints (src/server/reload.ts applies it). It listens once PHP is up, so a probe during
// start-up finds nothing listening. Its default address is on loopback; a /load from a browser
// (any request with an Origin header) is refused, so a web page cannot post a config to it.
import http from 'node:http';

import type { FastifyBaseLogger } from 'fastify';

import type { LoadOutcome } from './reload.js';

/** The largest config /load takes; an adapted Caddyfile is a few KiB. */
export const LOAD_MAX_BYTES = 1024 * 1024;

export { parseAdminAddress } from '../config/admin-address.js';

export interface AdminState {
  ready(): boolean;
  /** One process's metrics (src/server/metrics.ts), or the sum of a supervisor's children. */
  metrics: { readonly registry: { readonly contentType: string; metrics(): Promise<string> } } | undefined;
  /** Applies a config (POST /load). */
  load?: (config: unknown) => Promise<LoadOutcome>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Connection: 'close' });
  res.end(JSON.stringify(body) + '\n');
}

/** POST /load: checks what is posted, then hands the parsed JSON to state.load. */
function serveLoad(req: http.IncomingMessage, res: http.ServerResponse, load: (config: unknown) => Promise<LoadOutcome>, log: FastifyBaseLogger): void {
  const refuse = (status: number, message: string): void => {
    req.resume(); // the rest of the body is read and dropped, so the answer is seen
    sendJson(res, status, { applied: false, message, errors: [] });
  };
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return refuse(405, 'POST the config to /load');
  }
  if (req.headers.origin !== undefined) return refuse(403, 'a /load with an Origin header (from a browser) is refused');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    return refuse(415, `/load takes application/json (what \`phpasync adapt\` prints), got ${type === '' ? 'no Content-Type' : type}`);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > LOAD_MAX_BYTES) return refuse(413, `the config is larger than ${LOAD_MAX_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > LOAD_MAX_BYTES) over = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    if (over) return refuse(413, `the config is larger than ${LOAD_MAX_BYTES} bytes`);
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      return refuse(400, `the body is not JSON: ${(err as Error).message}`);
    }
    load(value).then(
      (r) => {
        if (r.applied) log.info(`load: ${r.message}`);
        else log.warn({ errors: r.errors }, `load: ${r.message}`);
        sendJson(res, r.status, { applied: r.applied, message: r.message, errors: r.errors });
      },
      (err: unknown) => {
        log.error({ err }, 'load failed');
        sendJson(res, 500, { applied: false, message: `load failed: ${(err as Error).message}`, errors: [] });
      },
    );
  });
}

export async function startAdmin(address: { host: string; port: number }, state: AdminState, log: FastifyBaseLogger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (url === '/load' && state.load) return serveLoad(req, res, state.load, log);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'Method Not Allowed\n');
    if (url === '/health/live') return send(200, 'live\n');
    if (url === '/health/ready') return state.ready() ? send(200, 'ready\n') : send(503, 'not ready\n');
    if (url === '/metrics' && state.metrics) {
      const registry = state.metrics.registry;
      void registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (err: unknown) => {
          log.error({ err }, 'metrics: collecting failed');
          send(500, 'Internal Server Error\n');
        },
      );
      return;
    }
    send(404, 'Not Found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as import('node:net').AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  const paths = [...(state.metrics ? ['/metrics'] : []), '/health/live', '/health/ready', ...(state.load ? ['/load'] : [])];
  log.info(`Admin endpoint listening at http://${host}:${a.port} (${paths.join(', ')})`);
  return server;
}
