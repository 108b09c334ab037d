// Hello-world req/s through phpasync vs plain Fastify, same client, same run, as a ratio.
//   node dist/bench/hello.js [--duration 10] [--connections 50] [--rounds 1]
// With --rounds N the two alternate N times and the ratio of each round is printed, then the
// median: on a shared machine a neighbour's burst then hits one round, not the whole figure.
// Both servers run in child processes (the ones `phpasync bench` uses); autocannon runs here.
// Unlike `phpasync bench --scenario php-hello` the ring holds 1000 requests, so no request is
// turned away with 503 and the figure is the pipeline's throughput alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT } from '../src/bench/paths.js';
import { startFastify } from '../src/bench/servers/fastify.js';
import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { flags, measure, positive } from './measure.js';

const USAGE = 'node dist/bench/hello.js [--duration SECONDS>0] [--connections N>0] [--rounds N>0]';
const values = flags({ duration: '10', connections: '50', rounds: '1' }, USAGE);
const [duration, connections, rounds] = positive(
  values,
  ['duration', 'connections', 'rounds'],
  USAGE,
) as [number, number, number];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
try {
  console.log(`node dist/bench/hello.js --duration ${duration} --connections ${connections} --rounds ${rounds}`);
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const fastify = await startFastify();
    const fastifyRps = await measure('fastify-hello', fastify.url + '/hello', duration, connections);
    await fastify.stop();
    const php = await startPhpasync(dir, { worker: path.join(ROOT, 'test/fixtures/php/hello.php'), bufferSize: 1000 });
    const phpRps = await measure('phpasync-hello', php.url + '/hello', duration, connections);
    await php.stop();
    ratios.push(phpRps / fastifyRps);
    console.log(`ratio phpasync/fastify: ${(phpRps / fastifyRps).toFixed(2)}x`);
  }
  if (rounds > 1) {
    const sorted = [...ratios].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    console.log(`median ratio over ${rounds} rounds: ${median.toFixed(2)}x (min ${sorted[0]!.toFixed(2)}, max ${sorted[sorted.length - 1]!.toFixed(2)})`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
