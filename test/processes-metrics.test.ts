// The admin endpoint of a server running several processes: the supervisor serves it, and
// /metrics is the sum of every child's metrics (src/supervisor/metrics.ts) plus its own
// process counters. Each answer of the fixture is the pid of the child that served it.
import { afterEach, describe, expect, it } from 'vitest';

import { startServer, waitFor, type RunningServer } from './helpers/server.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.stop('SIGKILL');
  server = undefined;
});

/** The admin address, from its log line. */
async function adminUrl(s: RunningServer): Promise<string> {
  const line = await waitFor(() => s.output.find((l) => l.includes('Admin endpoint listening at')));
  return /Admin endpoint listening at (http:\/\/[^ "]+)/.exec(line)![1]!;
}

/** The value of one sample (`name` or `name{labels}`, exactly as printed). */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  if (line === undefined) throw new Error(`no ${name} in:\n${text}`);
  return Number(line.slice(name.length + 1));
}

/** A GET on a new connection (fetch's keep-alive pool would stick to one child). */
async function pidOf(url: string): Promise<string> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('admin endpoint with several processes', () => {
  it('/metrics sums the children, keeps a dead child\'s counts, and counts its restart', async () => {
    server = await startServer({ worker: 'processes.php', num: 2, globalOptions: 'admin 127.0.0.1:0\n\tmetrics' });
    const admin = await adminUrl(server);
    const served = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const pid = await pidOf(server.url + '/');
      served.set(pid, (served.get(pid) ?? 0) + 1);
    }
    expect(served.size).toBe(2); // both children served: a sum of one child's counts would not be 10
    let text = await (await fetch(`${admin}/metrics`)).text();
    expect(sample(text, 'frankenphp_worker_request_count{worker="' + workerFile(text) + '"}')).toBe(10);
    expect(sample(text, 'phpasync_request_duration_seconds_count{code="200"}')).toBe(10);
    expect(sample(text, 'frankenphp_total_threads')).toBe(2);
    expect(sample(text, 'phpasync_requests_in_flight')).toBe(0);
    expect(sample(text, 'phpasync_processes')).toBe(2);
    expect(sample(text, 'phpasync_process_restarts_total{child="1"}')).toBe(0);
    expect(sample(text, 'phpasync_process_restarts_total{child="2"}')).toBe(0);

    // One child dies: the sums keep what it served, and its restart is counted.
    const [victim] = served.keys();
    process.kill(Number(victim), 'SIGKILL');
    await waitFor(() => server!.logs().some((l) => String(l['msg']).endsWith('is serving again')), 10_000);
    for (let i = 0; i < 4; i++) expect(await pidOf(server.url + '/')).not.toBe(victim);
    text = await (await fetch(`${admin}/metrics`)).text();
    expect(sample(text, 'frankenphp_worker_request_count{worker="' + workerFile(text) + '"}')).toBe(14);
    expect(sample(text, 'phpasync_request_duration_seconds_count{code="200"}')).toBe(14);
    expect(sample(text, 'frankenphp_total_threads')).toBe(2); // a gauge: the dead child's is gone
    expect(sample(text, 'phpasync_processes')).toBe(2);
    const restarts = ['1', '2'].map((c) => sample(text, `phpasync_process_restarts_total{child="${c}"}`));
    expect(restarts.sort()).toEqual([0, 1]);
  });

  it('probes: ready while children serve, not ready while they drain; live all along', async () => {
    server = await startServer({ worker: 'processes.php', num: 2, globalOptions: 'admin 127.0.0.1:0\n\tmetrics' });
    const admin = await adminUrl(server);
    expect((await fetch(`${admin}/health/ready`)).status).toBe(200);
    expect((await fetch(`${admin}/health/live`)).status).toBe(200);
    const slow = fetch(`${server.url}/slow?ms=1500`).then((r) => r.status);
    // Stopped once the request runs in its child (else the closing listener could refuse it).
    const inFlight = async (): Promise<number> => sample(await (await fetch(`${admin}/metrics`)).text(), 'phpasync_requests_in_flight');
    for (let n = await inFlight(); n === 0; n = await inFlight()) await new Promise((r) => setTimeout(r, 20));
    server.proc.kill('SIGTERM');
    await waitFor(() => server!.logs().some((l) => l['msg'] === 'shutting down'));
    expect((await fetch(`${admin}/health/ready`)).status).toBe(503);
    expect((await fetch(`${admin}/health/live`)).status).toBe(200);
    expect(await slow).toBe(200);
    expect(await server.exited).toBe(0);
  });

  it('processes 1: the supervisor serves the probes', async () => {
    server = await startServer({ worker: 'processes.php', globalOptions: 'processes 1\n\tadmin 127.0.0.1:0' });
    const admin = await adminUrl(server);
    expect((await fetch(`${admin}/health/ready`)).status).toBe(200);
    expect((await fetch(`${admin}/metrics`)).status).toBe(404); // no `metrics`: probes only
    expect(await (await fetch(`${admin}/health/live`)).text()).toBe('live\n');
  });
});

/** The worker label as the metrics print it (the fixture's absolute path). */
function workerFile(text: string): string {
  return /^frankenphp_worker_request_count\{worker="([^"]+)"\}/m.exec(text)![1]!;
}
