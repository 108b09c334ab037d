// The front end's cost, phpasync against plain Fastify, same client, same run, as ratios.
//   node dist/bench/hello.js [--duration 10] [--connections 50] [--rounds 1]
//                            [--scenarios hello,upload,delay,p99] [--buffer-size 20]
// hello   GET /hello at c=connections: req/s (2xx) and CPU µs per request of the server's main
//         thread (the JS event loop) and of the whole process, from /proc schedstat;
// upload  the `php-upload` POST (100 KB multipart part) against `fastify-upload`;
// delay   `php-delay-10ms` (c=200, Async\delay(10)) against min(c / 10 ms, php hello req/s),
//         and Fastify awaiting a 10 ms setTimeout against the same bound (its own hello's);
// p99     p99 latency at half load: both servers at the same paced rate, half of Fastify's
//         hello req/s of the round (open loop, see hello-load.ts).
// With --rounds N the servers alternate N times (who goes first too), each round's ratios are
// printed, then their medians: on a shared machine a neighbour's burst then hits one round.
// Both servers run in child processes (the ones `phpasync bench` uses), started once; phpasync
// with the bench's worker and, by default, the default ring (`buffer_size 20`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { findScenario, DELAY_CONNECTIONS } from '../src/bench/scenarios.js';
import type { ChildServerHandle } from '../src/bench/servers/child.js';
import { startFastify } from '../src/bench/servers/fastify.js';
import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { closedLoop, median, pacedLoop, type Run } from './hello-load.js';
import { flags, positive } from './measure.js';

const USAGE =
  'node dist/bench/hello.js [--duration SECONDS>0] [--connections N>0] [--rounds N>0] [--scenarios hello,upload,delay,p99] [--buffer-size N>0]';
const values = flags({ duration: '10', connections: '50', rounds: '1', scenarios: 'hello', 'buffer-size': '20' }, USAGE);
const [duration, connections, rounds, bufferSize] = positive(values, ['duration', 'connections', 'rounds', 'buffer-size'], USAGE) as [
  number,
  number,
  number,
  number,
];
const KNOWN = ['hello', 'upload', 'delay', 'p99'];
const wanted = new Set(values.scenarios!.split(','));
if ([...wanted].some((s) => !KNOWN.includes(s))) {
  console.error(`--scenarios: one or more of ${KNOWN.join(', ')}\nusage: ${USAGE}`);
  process.exit(2);
}
// delay's bound and p99's rate come from the round's hello figures.
if (wanted.has('delay') || wanted.has('p99')) wanted.add('hello');

const upload = findScenario('php-upload')!.request();
const fmt = (r: Run): string =>
  `${r.rps.toFixed(0).padStart(6)} req/s  main ${r.mainUs.toFixed(1).padStart(5)} us/req  process ${r.totalUs.toFixed(1).padStart(5)} us/req  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms${r.bad ? `  non-2xx/errors ${r.bad}` : ''}`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
const ratios: Record<string, number[]> = {};
const keep = (name: string, x: number): void => {
  (ratios[name] ??= []).push(x);
};
let fastify: ChildServerHandle | undefined;
let php: ChildServerHandle | undefined;
try {
  console.log(
    `node dist/bench/hello.js --duration ${duration} --connections ${connections} --rounds ${rounds} --scenarios ${[...wanted].join(',')} --buffer-size ${bufferSize}` +
      `  (${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)})`,
  );
  fastify = (await startFastify()) as ChildServerHandle;
  php = await startPhpasync(dir, { bufferSize });
  for (let r = 1; r <= rounds; r++) {
    const order: [string, ChildServerHandle][] = [
      ['fastify', fastify],
      ['phpasync', php],
    ];
    if (r % 2 === 0) order.reverse();
    const got: Record<string, Run> = {};
    const both = async (scenario: string, run: (s: ChildServerHandle) => Promise<Run>): Promise<void> => {
      for (const [name, s] of order) {
        got[`${scenario} ${name}`] = await run(s);
        console.log(`round ${r} ${`${scenario} ${name}`.padEnd(16)} ${fmt(got[`${scenario} ${name}`]!)}`);
      }
    };
    if (wanted.has('hello')) {
      await both('hello', (s) => closedLoop(s.pid, s.url, { path: '/hello' }, connections, duration));
      const f = got['hello fastify']!;
      const p = got['hello phpasync']!;
      keep('hello req/s phpasync/fastify', p.rps / f.rps);
      keep('hello main-thread CPU phpasync/fastify', p.mainUs / f.mainUs);
      keep('hello main-thread us/req phpasync', p.mainUs);
      keep('hello main-thread us/req fastify', f.mainUs);
    }
    if (wanted.has('upload')) {
      await both('upload', (s) => closedLoop(s.pid, s.url, upload, connections, duration));
      keep('upload req/s phpasync/fastify', got['upload phpasync']!.rps / got['upload fastify']!.rps);
      keep('upload main-thread CPU phpasync/fastify', got['upload phpasync']!.mainUs / got['upload fastify']!.mainUs);
    }
    if (wanted.has('delay')) {
      await both('delay', (s) => closedLoop(s.pid, s.url, { path: '/delay' }, DELAY_CONNECTIONS, duration));
      // Each server's bound: min(c / 10 ms, its own hello req/s of the round).
      const bound = (who: string): number => Math.min(DELAY_CONNECTIONS / 0.01, got[`hello ${who}`]!.rps);
      keep('delay req/s / bound', got['delay phpasync']!.rps / bound('phpasync'));
      keep('delay fastify (setTimeout) req/s / bound', got['delay fastify']!.rps / bound('fastify'));
      keep('delay req/s phpasync/fastify', got['delay phpasync']!.rps / got['delay fastify']!.rps);
    }
    if (wanted.has('p99')) {
      const rate = Math.round(got['hello fastify']!.rps / 2);
      console.log(`round ${r} p99 at ${rate} req/s (half of Fastify's hello)`);
      await both('p99', (s) => pacedLoop(s.pid, s.url, '/hello', rate, connections, duration));
      keep('half-load p99 phpasync/fastify', got['p99 phpasync']!.p99Ms / got['p99 fastify']!.p99Ms);
      keep('half-load main-thread CPU phpasync/fastify', got['p99 phpasync']!.mainUs / got['p99 fastify']!.mainUs);
    }
    console.log(`round ${r}: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.at(-1)!.toFixed(2)}`).join('; ')}`);
  }
  console.log(`\nmedians over ${rounds} round(s) (load now ${os.loadavg()[0]!.toFixed(1)}):`);
  for (const [k, v] of Object.entries(ratios)) {
    console.log(`  ${k.padEnd(44)} ${median(v).toFixed(2)}  (${v.map((x) => x.toFixed(2)).join(', ')})`);
  }
} finally {
  await php?.stop();
  await fastify?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
