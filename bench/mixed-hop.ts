// The hop's cost: CPU per classic request of a classic-scripts server without a worker
// ("scripts") and of the same script next to an async worker ("mixed": the front forwards it to
// a classic-scripts process, src/server/scripts-pool.ts). CPU is read from /proc (schedstat of
// every thread of every process of the server: the front and its classic-scripts children)
// around N requests at a fixed concurrency; runs alternate between the two servers.
//
//   npx tsc -p tsconfig.json && node dist/bench/mixed-hop.js [requests=20000] [connections=10] [rounds=3]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import autocannon from 'autocannon';

import { SCRIPTS_HELLO_PATH, startPhpasyncScripts } from '../src/bench/servers/phpasync-scripts.js';
import { readCpu } from './hello-load.js';

/** The server's processes: the front and the children it started (classic-scripts processes). */
function processes(pid: number): number[] {
  const kids: number[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) kids.push(...text.split(' ').map(Number));
    } catch {
      // the thread ended meanwhile
    }
  }
  return [pid, ...kids];
}

function cpuNs(pids: number[]): number[] {
  return pids.map((p) => readCpu(p).totalNs);
}

async function load(url: string, amount: number, connections: number): Promise<{ rps: number; non2xx: number }> {
  const r = await autocannon({ url: url + SCRIPTS_HELLO_PATH, connections, amount });
  return { rps: r.requests.average, non2xx: r.non2xx + r.errors };
}

async function run(kind: 'scripts' | 'mixed', requests: number, connections: number): Promise<{ front: number; others: number; rps: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-hop-'));
  const server = await startPhpasyncScripts(dir, kind === 'mixed');
  try {
    // Warm-up: starts the classic-scripts process, fills opcache, lets V8 optimise.
    await load(server.url, 2000, connections);
    const pids = processes(server.pid);
    const before = cpuNs(pids);
    const r = await load(server.url, requests, connections);
    const after = cpuNs(pids);
    if (r.non2xx > 0) throw new Error(`${kind}: ${r.non2xx} requests failed`);
    const us = after.map((a, i) => (a - before[i]!) / 1000 / requests);
    return { front: us[0]!, others: us.slice(1).reduce((a, b) => a + b, 0), rps: r.rps };
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const [requests = 20000, connections = 10, rounds = 3] = process.argv.slice(2).map(Number);
console.log(`CPU per request (us, all threads, from /proc), ${requests} requests at c=${connections}`);
for (let i = 0; i < rounds; i++) {
  const s = await run('scripts', requests, connections);
  const m = await run('mixed', requests, connections);
  const total = m.front + m.others;
  console.log(
    `round ${i + 1}: scripts ${s.front.toFixed(1)} (${Math.round(s.rps)} req/s) | mixed ${total.toFixed(1)} = front ${m.front.toFixed(1)} + classic ${m.others.toFixed(1)} (${Math.round(m.rps)} req/s) | mixed/scripts ${(total / s.front).toFixed(2)}x`,
  );
}
