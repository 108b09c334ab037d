// The admin endpoint (Caddy's `admin` global option; phpasync serves no config API on it):
// GET /metrics when `metrics` is on, and probes for orchestrators: /health/live answers 200
// while the process runs, /health/ready 200 only while PHP serves (503 once it drains). It
// listens once PHP is up, so a probe during start-up finds nothing listening.
import http from 'node:http';

import type { FastifyBaseLogger } from 'fastify';


export { parseAdminAddress } from '../config/admin-address.js';

export interface AdminState {
  ready(): boolean;
  /** One process's metrics (src/server/metrics.ts), or the sum of a supervisor's children. */
  metrics: { readonly registry: { readonly contentType: string; metrics(): Promise<string> } } | undefined;
}

export async function startAdmin(address: { host: string; port: number }, state: AdminState, log: FastifyBaseLogger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
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
  log.info(`Admin endpoint listening at http://${host}:${a.port}${state.metrics ? ' (/metrics, /health/live, /health/ready)' : ' (/health/live, /health/ready)'}`);
  return server;
}
