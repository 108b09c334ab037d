// Coroutine bursts must not leave memory maps or PHP heap behind: the idle fiber pool is
// bounded, and after a fatal error the stacks of fibers that were suspended are unmapped.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

function maps(pid: number): number {
  return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').length;
}

async function text(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

describe('coroutine bursts', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'fiber-burst.php' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('a request that spawns 5000 coroutines leaves neither maps nor heap behind', async () => {
    const pid = server.proc.pid!;
    // Warm up: the pool's steady size, the JIT, the allocator's first chunks.
    expect((await text(`${server.url}/burst?n=200`)).status).toBe(200);
    const heap0 = Number((await text(`${server.url}/heap`)).body);
    const maps0 = maps(pid);
    for (let i = 0; i < 3; i++) {
      const r = await text(`${server.url}/burst?n=5000`);
      expect(r).toEqual({ status: 200, body: String((4999 * 5000) / 2) });
    }
    const heap1 = Number((await text(`${server.url}/heap`)).body);
    // 5000 pooled fibers were 10k maps and 86 MB of heap; a bounded pool keeps a few hundred.
    expect(maps(pid) - maps0).toBeLessThan(400);
    expect(heap1 - heap0).toBeLessThan(8 * 1024 * 1024);
  });

  it('fatal errors with thousands of suspended coroutines unmap their stacks', async () => {
    const pid = server.proc.pid!;
    expect((await text(`${server.url}/`)).status).toBe(200);
    const maps0 = maps(pid);
    for (let i = 0; i < 4; i++) {
      expect((await text(`${server.url}/burst-fatal?n=3000`)).status).toBe(500);
      expect((await text(`${server.url}/`)).body).toBe('ok'); // restarted and serving
    }
    // Each such fatal leaked ~2 maps per suspended fiber (6000 here), 24000 over the four.
    expect(maps(pid) - maps0).toBeLessThan(400);
  });
});
