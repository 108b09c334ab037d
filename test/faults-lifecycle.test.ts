// Graceful shutdown (drain, cancel past grace_period, second signal) and max_requests (issue 6).
import http from 'node:http';
import { describe, expect, it } from 'vitest';

import { startServer } from './helpers/server.js';

function get(url: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

describe('graceful shutdown', () => {
  it('SIGTERM: in-flight requests finish, new connections are refused, exit 0', async () => {
    const server = await startServer({ worker: 'fault-app.php' });
    const inflight = get(`${server.url}/work?ms=800`);
    await new Promise((r) => setTimeout(r, 100));
    const exited = server.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    await expect(get(`${server.url}/late`)).rejects.toThrow(/ECONNREFUSED/);
    expect(await inflight).toEqual({ status: 200, body: 'done' });
    expect(await exited).toBe(0);
  });

  it('past grace_period, what still runs is cancelled (503) and the server exits 0', async () => {
    const server = await startServer({ worker: 'fault-app.php', globalOptions: 'grace_period 300ms', workerExtra: 'request_timeout off' });
    const stuck = get(`${server.url}/spin-work`).catch((e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000); // liveness: the spinning handler did not hold the exit
    const r = await stuck;
    expect(typeof r === 'string' ? r : r.status).toBe(503);
    expect(server.logs().some((l) => l.msg === 'drain time is over: cancelled the requests still running' && l.cancelled === 1)).toBe(true);
  });

  it('a second signal forces the exit', async () => {
    const server = await startServer({ worker: 'fault-app.php', workerExtra: 'request_timeout off' });
    void get(`${server.url}/spin-work`).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    server.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(await server.stop('SIGTERM')).toBe(1);
    expect(server.logs().some((l) => l.msg === 'second signal: exiting now')).toBe(true);
  });
});

describe('max_requests', () => {
  it('restarts the interpreter after N requests, drained, nothing lost', async () => {
    const server = await startServer({ worker: 'fault-app.php', workerExtra: 'max_requests 25', bufferSize: 100 });
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const counts: number[] = [];
      for (let i = 0; i < 100; i++) {
        const r = await get(`${server.url}/count`, agent);
        expect(r.status).toBe(200);
        counts.push(Number(r.body));
      }
      // The per-interpreter counter never passes 25 and starts over after each restart.
      expect(Math.max(...counts)).toBe(25);
      expect(counts.filter((c) => c === 1).length).toBe(4);
      // Concurrent requests across restarts: every one answered.
      const many = await Promise.all(Array.from({ length: 60 }, (_, i) => get(`${server.url}/c${i}`)));
      for (const [i, r] of many.entries()) expect(r).toEqual({ status: 200, body: `ok /c${i}` });
      agent.destroy();
      expect(server.logs().filter((l) => l.msg === 'PHP thread 0: restarting the interpreter after 25 requests (max_requests)').length).toBeGreaterThanOrEqual(4);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
