// What opcache.jit_hot_loop=0 costs. phpasync sets it by default so that request timeouts and
// client aborts can interrupt JIT-compiled loops (php/embed/sapi.c); PHP's default is 64, which
// compiles loop traces that never check for the interrupt. A CPU-bound loop per request,
// req/s with each setting in the same run, and with the JIT off for scale:
//   node dist/bench/jit-loop.js [--duration 5] [--connections 2] [--rounds 2]
// Rounds alternate the settings so that a noisy neighbour hits all of them alike.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { flags, measure, positive } from './measure.js';

const USAGE = 'node dist/bench/jit-loop.js [--duration SECONDS>0] [--connections N>0] [--rounds N>0]';
const values = flags({ duration: '5', connections: '2', rounds: '2' }, USAGE);
const [duration, connections, rounds] = positive(
  values,
  ['duration', 'connections', 'rounds'],
  USAGE,
) as [number, number, number];

const settings: [string, Record<string, string>][] = [
  ['jit_hot_loop=0 (default)', {}],
  ['jit_hot_loop=64 (PHP)', { 'opcache.jit_hot_loop': '64' }],
  ['jit off', { 'opcache.jit': 'off' }],
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
const sums = new Map<string, number>();
try {
  console.log(`node dist/bench/jit-loop.js --duration ${duration} --connections ${connections} --rounds ${rounds}`);
  for (let r = 0; r < rounds; r++) {
    for (const [name, phpIni] of settings) {
      const server = await startPhpasync(dir, { phpIni });
      try {
        sums.set(name, (sums.get(name) ?? 0) + (await measure(name, server.url + '/loop', duration, connections)));
      } finally {
        await server.stop();
      }
    }
  }
  const base = sums.get(settings[0]![0])!;
  for (const [name] of settings) console.log(`${name.padEnd(28)} ${(sums.get(name)! / base).toFixed(2)}x of the default`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
