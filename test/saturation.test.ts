// Back-pressure: when every ring is full, requests get 503 + Retry-After and nothing is queued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

describe('saturation: one thread, buffer_size 2, a CPU-busy handler', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'busy.php', bufferSize: 2 });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers 50 simultaneous requests with 200s and 503s that add up', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await fetch(`${server.url}/r${i}`);
        return { i, status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
      }),
    );
    const ok = results.filter((r) => r.status === 200);
    const busy = results.filter((r) => r.status === 503);
    expect(ok.length + busy.length).toBe(50); // nothing else: no 500, no hang
    expect(busy.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThanOrEqual(2); // at least what fits in the ring
    for (const r of ok) expect(r.body).toBe(`ok /r${r.i}`); // every accepted request got its own answer
    for (const r of busy) expect(r.retryAfter).toBe('1');
  });

  it('recovers: once the burst is over, requests are served again', async () => {
    const res = await fetch(`${server.url}/after`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok /after');
  });
});
