// What a new connection costs the supervisor (src/supervisor/): phpasync with `num 2` gets
// --requests GETs, each on a connection of its own (10 at a time); printed is the supervisor's CPU
// time per connection, from /proc. The children's share is not counted: only the hand-over.
//   node dist/bench/connection-cost.js [--requests 5000]
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { flags, positive } from './measure.js';

const USAGE = 'node dist/bench/connection-cost.js [--requests N]';
const [requests] = positive(flags({ requests: '5000' }, USAGE), ['requests'], USAGE) as [number];

function ticks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(x[11]) + Number(x[12]); // utime + stime, clock ticks of 10 ms
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
const server = await startPhpasync(dir, { threads: 2, bufferSize: 1000 });
try {
  const get = (): Promise<void> =>
    new Promise((resolve, reject) => {
      http
        .get(server.url + '/hello', { agent: false }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  for (let i = 0; i < 200; i++) await get(); // warm-up
  const before = ticks(server.pid);
  const started = Date.now();
  let left = requests;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (left-- > 0) await get();
    }),
  );
  const us = ((ticks(server.pid) - before) * 10_000) / requests;
  console.log(`${USAGE.split(' [')[0]} --requests ${requests}`);
  console.log(`${requests} requests, each on a new connection, in ${((Date.now() - started) / 1000).toFixed(1)} s: supervisor CPU ${us.toFixed(0)} µs per connection`);
} finally {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
