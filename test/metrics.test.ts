// The admin endpoint: Prometheus metrics with `metrics` (FrankenPHP's names where it has them),
// liveness and readiness probes; what cannot be served is refused at start.
import { afterEach, describe, expect, it } from 'vitest';

import { runCli, startServer, tempDir, waitFor, writeCaddyfile, type RunningServer } from './helpers/server.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.stop('SIGKILL');
  server = undefined;
});

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    if ($req->getUri() === '/slow') usleep(400000);
    $res->write('ok');
    $res->end();
});`;

/** The admin address, from its log line (it comes right after the server's). */
async function adminUrl(s: RunningServer): Promise<string> {
  const line = await waitFor(() => s.output.find((l) => l.includes('Admin endpoint listening at')));
  return /Admin endpoint listening at (http:\/\/[^ "]+)/.exec(line)![1]!;
}

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  if (line === undefined) throw new Error(`no ${name} in:\n${text}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('admin endpoint', () => {
  it('serves metrics: requests, durations, ring depth, threads, 503s when every ring is full, restarts', async () => {
    server = await startServer({
      workerSource: WORKER,
      bufferSize: 1,
      globalOptions: 'admin 127.0.0.1:0\n\tmetrics',
      workerExtra: 'max_coroutines 1\n\t\t\tmax_requests 4',
    });
    const admin = await adminUrl(server);
    for (let i = 0; i < 3; i++) expect((await fetch(`${server.url}/`)).status).toBe(200);
    // One slow request runs, one waits in the ring of 1: the rest are refused.
    const statuses = await Promise.all(Array.from({ length: 8 }, () => fetch(`${server!.url}/slow`).then((r) => r.status)));
    const refused = statuses.filter((s) => s === 503).length;
    expect(refused).toBeGreaterThan(0);
    await waitFor(() => server!.output.some((l) => l.includes('restarting the interpreter after 4 requests')), 10_000);
    const res = await fetch(`${admin}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(sample(text, 'frankenphp_total_threads')).toBe(1);
    expect(sample(text, 'frankenphp_queue_depth')).toBe(0);
    expect(text).toMatch(/^phpasync_ring_depth\{thread="0"\} 0$/m);
    expect(sample(text, 'phpasync_rejected_total')).toBe(refused);
    expect(sample(text, 'frankenphp_worker_request_count')).toBe(3 + statuses.length - refused);
    expect(sample(text, 'frankenphp_worker_restarts')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^phpasync_request_duration_seconds_count\{code="200"\} \d+$/m);
    expect(sample(text, 'phpasync_requests_in_flight')).toBe(0);
  });

  it('says ready while serving and not ready while draining; live all along', async () => {
    server = await startServer({ workerSource: WORKER, globalOptions: 'admin 127.0.0.1:0' });
    const admin = await adminUrl(server);
    expect((await fetch(`${admin}/health/ready`)).status).toBe(200);
    expect((await fetch(`${admin}/health/live`)).status).toBe(200);
    expect((await fetch(`${admin}/metrics`)).status).toBe(404); // no `metrics`: probes only
    expect((await fetch(`${admin}/health/ready`, { method: 'POST' })).status).toBe(405);
    const slow = fetch(`${server.url}/slow`).then((r) => r.status);
    await new Promise((r) => setTimeout(r, 100));
    server.proc.kill('SIGTERM');
    await waitFor(() => server!.output.some((l) => l.includes('shutting down')));
    expect((await fetch(`${admin}/health/ready`)).status).toBe(503);
    expect((await fetch(`${admin}/health/live`)).status).toBe(200);
    expect(await slow).toBe(200);
    expect(await server.exited).toBe(0);
  });

  it('refuses metrics without an admin endpoint, and an admin address it cannot serve', async () => {
    const cases: [string, string, number, RegExp][] = [
      ['admin off\n\tmetrics', '', 1, /metrics are served on the admin endpoint: remove "admin off"/],
      ['admin unix//run/admin.sock', '', 1, /not supported yet: global option admin unix\/\/run\/admin\.sock/],
    ];
    for (const [globalOptions, , num, message] of cases) {
      const file = writeCaddyfile(tempDir(), { workerSource: WORKER, globalOptions, num });
      for (const cmd of ['validate', 'run']) {
        const r = await runCli([cmd, '--config', file]);
        expect(r.code, `${cmd} ${globalOptions}: ${r.out}`).toBe(2);
        expect(r.out).toMatch(message);
      }
    }
  });
});
