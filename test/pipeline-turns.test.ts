// Pipelined requests of one connection reach PHP one at a time (as in Go's net/http and nginx):
// a client writing thousands of requests in one packet is served in order without a 503 and
// without taking other clients' ring slots, and the server stops reading a connection while
// requests wait for their turn on it.
import http from 'node:http';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) expect(await server.stop()).toBe(0);
  server = undefined;
});

// /n?i=K answers K; /conc waits 30 ms and answers how many handlers ran at once at most;
// /hold waits 1.5 s.
const WORKER = `<?php
$running = 0;
$max = 0;
FrankenPHP\\HttpServer::onRequest(function ($req, $res) use (&$running, &$max) {
    $uri = $req->getUri();
    if (str_starts_with($uri, '/n?i=')) {
        $res->write(substr($uri, 5));
    } elseif ($uri === '/conc') {
        $running++;
        $max = max($max, $running);
        Async\\delay(30);
        $running--;
        $res->write((string) $max);
    } elseif ($uri === '/hold') {
        Async\\delay(1500);
        $res->write('held');
    } else {
        $res->write('ok');
    }
    $res->end();
});`;

/** Writes `requests` on one connection in one write; resolves with the raw bytes read once
 * `count` responses are complete (every response here has a Content-Length). */
function pipelined(port: number, requests: string, count: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(requests));
    let buf = '';
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (complete(buf, count)) {
        s.destroy();
        resolve(buf);
      }
    });
  });
}

/** The complete responses at the start of `raw`: status and body (each has a Content-Length). */
function bodies(raw: string): { status: number; body: string }[] {
  const out: { status: number; body: string }[] = [];
  let at = 0;
  for (;;) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return out;
    const head = raw.slice(at, headEnd);
    const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN);
    if (!(headEnd + 4 + len <= raw.length)) return out;
    out.push({ status: Number(head.slice(9, 12)), body: raw.slice(headEnd + 4, headEnd + 4 + len) });
    at = headEnd + 4 + len;
  }
}

function complete(raw: string, count: number): boolean {
  return bodies(raw).length >= count;
}

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

describe('pipelined requests take turns on their connection', () => {
  it('serves 3000 requests pipelined in one write in order, without a 503, while other clients are served', async () => {
    server = await startServer({ workerSource: WORKER });
    const n = 3000;
    const flood = pipelined(server.port, Array.from({ length: n }, (_, i) => GET(`/n?i=${i}`)).join(''), n);
    // Other clients meanwhile, each on its own connection.
    const others = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`http://127.0.0.1:${server!.port}/other`).then((r) => r.status)),
    );
    expect(others.filter((s) => s !== 200)).toEqual([]);
    const got = bodies(await flood);
    expect(got).toHaveLength(n);
    expect(got.filter((r) => r.status !== 200).map((r) => r.status)).toEqual([]);
    expect(got.map((r) => r.body)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  });

  it('runs one handler at a time for a pipelining connection, while separate connections overlap', async () => {
    server = await startServer({ workerSource: WORKER });
    const piped = bodies(await pipelined(server.port, GET('/conc').repeat(5), 5));
    expect(piped.map((r) => r.body)).toEqual(['1', '1', '1', '1', '1']);
    // Five connections at once still run five handlers at once.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 5 });
    try {
      const maxes = await Promise.all(
        Array.from({ length: 5 }, () =>
          new Promise<string>((resolve, reject) => {
            http.get({ host: '127.0.0.1', port: server!.port, path: '/conc', agent }, (res) => {
              let b = '';
              res.on('data', (d: Buffer) => (b += d.toString()));
              res.on('end', () => resolve(b));
            }).on('error', reject);
          }),
        ),
      );
      expect(Math.max(...maxes.map(Number))).toBeGreaterThan(1);
    } finally {
      agent.destroy();
    }
  });

  it('stops reading a connection whose requests wait for their turn, and serves them all afterwards', async () => {
    server = await startServer({ workerSource: WORKER });
    // Behind a request PHP holds for 1.5 s: 4000 requests of 8 KiB each (32 MiB). Read at
    // once, Node would have parsed them in a fraction of a second; paused, the server takes
    // no more than the kernel's socket buffers hold (a few MiB) until the held one is done.
    const pad = `X-Pad: ${'p'.repeat(8 * 1024)}\r\n`;
    const n = 4000;
    const s = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    let buf = '';
    s.on('data', (d: Buffer) => (buf += d.toString('latin1')));
    const done = new Promise<void>((resolve, reject) => {
      s.on('data', () => {
        if (complete(buf, n + 1)) resolve();
      });
      s.on('error', reject);
    });
    s.write(GET('/hold'));
    const batch = GET('/n?i=1', pad).repeat(100);
    for (let i = 0; i < n / 100; i++) s.write(batch);
    await new Promise((r) => setTimeout(r, 700));
    // Still inside the held request: what left the client is bounded by the kernel buffers.
    expect(bodies(buf)).toHaveLength(0);
    const taken = s.bytesWritten - s.writableLength;
    expect(taken).toBeLessThan(batch.length * (n / 100) * 0.6);
    await done;
    s.destroy();
    const got = bodies(buf);
    expect(got[0]).toEqual({ status: 200, body: 'held' });
    expect(got.slice(1).filter((r) => r.status !== 200 || r.body !== '1')).toEqual([]);
  });
});
