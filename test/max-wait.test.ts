// max_wait_time: when every ring is full a request waits, in arrival order, for a slot before
// its 503; a burst read in one event-loop turn no longer overruns a ring PHP has not drained yet.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) expect(await server.stop()).toBe(0);
  server = undefined;
});

/** `n` requests written on `n` sockets in one go (one loop turn on the server), their statuses. */
async function burst(port: number, n: number, path: string): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    })),
  );
  const answers = sockets.map(
    (s) =>
      new Promise<number>((resolve) => {
        let buf = '';
        s.on('data', (d: Buffer) => {
          buf += d.toString('latin1');
          const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
          if (m && buf.includes('\r\n\r\n')) {
            resolve(Number(m[1]));
            s.destroy();
          }
        });
      }),
  );
  for (const s of sockets) s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return Promise.all(answers);
}

const HELLO = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    if ($req->getUri() === '/slow') usleep(1000000);
    $res->write('ok');
    $res->end();
});`;

describe('max_wait_time', () => {
  it('serves a burst of 300 requests against the default ring of 20 without a 503', async () => {
    // A long max_wait_time: the burst must wait, however slowly this build (ASan) or a busy
    // machine drains the ring; the default's effect is measured in the README.
    server = await startServer({ workerSource: HELLO, globalExtra: 'max_wait_time 10s' });
    for (let round = 0; round < 3; round++) {
      const statuses = await burst(server.port, 300, '/');
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
    }
  });

  it('answers 503 once a request has waited max_wait_time for a ring that stays full', async () => {
    server = await startServer({
      workerSource: HELLO,
      bufferSize: 1,
      workerExtra: 'max_coroutines 1',
      globalExtra: 'max_wait_time 200ms',
    });
    const t0 = Date.now();
    // One runs (1 s), one waits in the ring of 1, the others wait in the host and give up.
    const statuses = await burst(server.port, 6, '/slow');
    const refusedAfter = Date.now() - t0;
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    expect(statuses.filter((s) => s === 503)).toHaveLength(4);
    expect(refusedAfter).toBeGreaterThanOrEqual(200); // they did wait
    const res = await fetch(`${server.url}/after`);
    expect(res.status).toBe(200);
  });

  it('max_wait_time 0s answers 503 at once, as before', async () => {
    server = await startServer({ workerSource: HELLO, globalExtra: 'max_wait_time 0s' });
    let refused = 0;
    for (let round = 0; round < 3; round++) refused += (await burst(server.port, 300, '/')).filter((s) => s === 503).length;
    expect(refused).toBeGreaterThan(0);
  });
});
