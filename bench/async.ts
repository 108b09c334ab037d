// Coroutine overlap vs Little's law: a handler that waits 10 ms (Async\delay(10), then
// usleep(10000)) at concurrency C should reach min(C / 10 ms, CPU bound) requests/s, where the
// CPU bound is what the same server does with a handler that does not wait (Async\delay(0)).
//
//   node dist/bench/async.js [--c 200] [--seconds 3] [--threads 1]
// (built by `npx tsc -p tsconfig.json`). Prints each rate and the ratios.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the first parent with package.json (works from bench/ and dist/bench/). */
function root(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(d, 'package.json')) || path.basename(d) === 'dist') d = path.dirname(d);
  return d;
}

/** `phpasync run` on an ephemeral port with `source` as the worker file. */
async function startServer(source: string, threads: number): Promise<{ url: string; stop: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
  fs.writeFileSync(path.join(dir, 'worker.php'), source);
  fs.writeFileSync(
    path.join(dir, 'Caddyfile'),
    `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${dir}/worker.php\n\t\t\tnum ${threads}\n\t\t\tasync\n\t\t\tbuffer_size 1000\n\t\t\tmatch *\n\t\t}\n\t}\n}\n` +
      `http://127.0.0.1:0 {\n\troute {\n\t\tphp_server {\n\t\t\tindex off\n\t\t\tfile_server off\n\t\t}\n\t}\n}\n`,
  );
  const proc = spawn(process.execPath, [path.join(root(), 'dist/src/cli/main.js'), 'run', '--config', path.join(dir, 'Caddyfile')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`phpasync exited with ${code}:\n${out}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.kill('SIGTERM') };
}

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const C = arg('c', 200);
const SECONDS = arg('seconds', 3);
const THREADS = arg('threads', 1);
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
  const server = await startServer(worker, THREADS);
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
    server.stop();
  }
}

void main();
