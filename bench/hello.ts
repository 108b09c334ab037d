// Hello-world req/s through phpasync vs plain Fastify, same client, same run, as a ratio.
//   node dist/bench/hello.js [--duration 10] [--connections 50]
// Both servers run in child processes (the ones `phpasync bench` uses); autocannon runs here.
// Unlike `phpasync bench --scenario php-hello` the ring holds 1000 requests, so no request is
// turned away with 503 and the figure is the pipeline's throughput alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ROOT } from '../src/bench/paths.js';
import { startFastify } from '../src/bench/servers/fastify.js';
import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { measure, positive } from './measure.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } },
});
const [duration, connections] = positive(values, ['duration', 'connections'], 'node dist/bench/hello.js [--duration SECONDS>0] [--connections N>0]') as [number, number];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
try {
  console.log(`node dist/bench/hello.js --duration ${duration} --connections ${connections}`);
  const fastify = await startFastify();
  const fastifyRps = await measure('fastify-hello', fastify.url + '/hello', duration, connections);
  await fastify.stop();
  const php = await startPhpasync(dir, { worker: path.join(ROOT, 'test/fixtures/php/hello.php'), bufferSize: 1000 });
  const phpRps = await measure('phpasync-hello', php.url + '/hello', duration, connections);
  await php.stop();
  console.log(`ratio phpasync/fastify: ${(phpRps / fastifyRps).toFixed(2)}x`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
