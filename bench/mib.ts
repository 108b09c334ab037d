// 1 MiB responses: req/s through phpasync (end() copies the string once into a host block Node
// sends from) vs Fastify sending a preallocated 1 MiB Buffer, back to back in one run, as a ratio.
//   node dist/bench/mib.js [--duration 4] [--connections 10]
// With --sizes 1024,16384,65536 it measures instead, for each body size, phpasync with every
// body copied into a JS string (PHPASYNC_COPY_THRESHOLD=2^30) vs every body sent from its host
// block (threshold 0): the data
// behind the default copy threshold.
// Servers run in child processes (the ones `phpasync bench` uses); autocannon runs here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT } from '../src/bench/paths.js';
import { startFastify } from '../src/bench/servers/fastify.js';
import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { flags, measure, positive } from './measure.js';

const USAGE = 'node dist/bench/mib.js [--duration SECONDS>0] [--connections N>0] [--sizes B,B,...]';
const values = flags({ duration: '4', connections: '10', sizes: undefined }, USAGE);
const [duration, connections] = positive(
  values,
  ['duration', 'connections'],
  USAGE,
) as [number, number];
const worker = path.join(ROOT, 'test/fixtures/php/api-mib.php');

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
const dirs = [tmp(), tmp()];
try {
  if (values.sizes) {
    const sizes = values.sizes.split(',').map(Number);
    console.log(`node dist/bench/mib.js --sizes ${values.sizes} --duration ${duration} --connections ${connections}`);
    // Both servers up at once and measured back to back per size: the machine is noisy.
    const copied = await startPhpasync(dirs[0]!, { worker, bufferSize: 1000, env: { PHPASYNC_COPY_THRESHOLD: String(2 ** 30) } });
    const lent = await startPhpasync(dirs[1]!, { worker, bufferSize: 1000, env: { PHPASYNC_COPY_THRESHOLD: '0' } });
    for (const size of sizes) {
      const c = await measure(`copied ${size} B`, `${copied.url}/?size=${size}`, duration, connections);
      const l = await measure(`lent (zero-copy) ${size} B`, `${lent.url}/?size=${size}`, duration, connections);
      console.log(`  ${size} B: lent/copied ${(l / c).toFixed(2)}x`);
    }
    await copied.stop();
    await lent.stop();
  } else {
    console.log(`node dist/bench/mib.js --duration ${duration} --connections ${connections}`);
    const fastify = await startFastify();
    const fastifyRps = await measure('fastify 1 MiB Buffer', fastify.url + '/1mib', duration, connections);
    await fastify.stop();
    const php = await startPhpasync(dirs[0]!, { worker, bufferSize: 1000 });
    const phpRps = await measure('phpasync 1 MiB write()', php.url + '/', duration, connections);
    await php.stop();
    console.log(`ratio phpasync/fastify: ${(phpRps / fastifyRps).toFixed(2)}x`);
  }
} finally {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}
