// Coroutine overlap vs Little's law: a handler that waits 10 ms (Async\delay(10), then
// usleep(10000)) at concurrency C should reach min(C / 10 ms, CPU bound) requests/s, where the
// CPU bound is what the same server does with a handler that does not wait (Async\delay(0)).
//
//   node dist/bench/async.js [--c 200] [--seconds 3] [--threads 1]
// (built by `npx tsc -p tsconfig.json`). Prints each rate and the ratios.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { flags, positive } from './measure.js';

const USAGE = 'node dist/bench/async.js [--c N>0] [--seconds SECONDS>0] [--threads N>0]';
const [C, SECONDS, THREADS] = positive(flags({ c: '200', seconds: '3', threads: '1' }, USAGE), ['c', 'seconds', 'threads'], USAGE) as [
  number,
  number,
  number,
];
const WAIT_MS = 10;

const worker = `<?php
use FrankenPHP\\HttpServer;
HttpServer::onRequest(function ($req, $res) {
    $u = $req->getUri();
    if ($u === '/delay0') Async\\delay(0);
    elseif ($u === '/delay') Async\\delay(${WAIT_MS});
    elseif ($u === '/usleep') usleep(${WAIT_MS * 1000});
    $res->write('ok');
    $res->end();
});
`;

/** C closed loops on keep-alive connections for `seconds`; returns completed requests/s. */
async function load(url: string, c: number, seconds: number): Promise<{ rps: number; errors: number; p50: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const lat: number[] = [];
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) {
            done++;
            if (lat.length < 200000) lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
          } else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const t0 = Date.now();
  await Promise.all(Array.from({ length: c }, async () => {
    while (Date.now() < until) await one();
  }));
  const elapsed = (Date.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { rps: done / elapsed, errors, p50: lat[Math.floor(lat.length / 2)] ?? 0 };
}

async function main(): Promise<void> {
  // phpasync as `phpasync bench` starts it (src/bench/servers), with this worker and a ring
  // large enough that no request is turned away.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
  fs.writeFileSync(path.join(dir, 'worker.php'), worker);
  const server = await startPhpasync(dir, { worker: path.join(dir, 'worker.php'), bufferSize: 1000, threads: THREADS });
  try {
    await load(server.url + '/delay0', 50, 0.5); // warm-up (OPcache/JIT, pooled fibers)
    const cpu = await load(server.url + '/delay0', C, SECONDS);
    const bound = Math.min(C / (WAIT_MS / 1000), cpu.rps);
    const delay = await load(server.url + '/delay', C, SECONDS);
    const usleep = await load(server.url + '/usleep', C, SECONDS);
    const f = (n: number): string => n.toFixed(0);
    console.log(`c=${C}, ${SECONDS}s per run, ${THREADS} PHP thread(s)`);
    console.log(`CPU bound (Async\\delay(0)):  ${f(cpu.rps)} req/s  p50 ${cpu.p50.toFixed(1)} ms  errors ${cpu.errors}`);
    console.log(`Little's law bound: min(${C} / ${WAIT_MS} ms = ${f(C / (WAIT_MS / 1000))}, ${f(cpu.rps)}) = ${f(bound)} req/s`);
    console.log(`Async\\delay(${WAIT_MS}):   ${f(delay.rps)} req/s  p50 ${delay.p50.toFixed(1)} ms  errors ${delay.errors}  ratio ${(delay.rps / bound).toFixed(2)}`);
    console.log(`usleep(${WAIT_MS * 1000}):   ${f(usleep.rps)} req/s  p50 ${usleep.p50.toFixed(1)} ms  errors ${usleep.errors}  ratio ${(usleep.rps / bound).toFixed(2)}`);
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
