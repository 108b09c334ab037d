// Several processes on one machine (src/supervisor/): req/s and CPU time per request of
// phpasync with `num 1` (one process) and `num 2` (a supervisor and two children, NTS PHP), on a
// CPU-bound handler (/loop) and on hello-world, next to Fastify hello-world in one process and in
// two (Node's cluster), and the RSS of each process once started (idle) and after the load.
//   node dist/bench/processes.js [--duration 8] [--connections 50] [--rounds 2] [--only loop|hello]
// CPU time is summed over the server's whole process tree from /proc: on a shared machine it is
// steadier than req/s.
import cluster from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import autocannon from 'autocannon';

import { FASTIFY_APP } from '../src/bench/paths.js';
import { listeningLine, spawnServer, type ChildServerHandle } from '../src/bench/servers/child.js';
import { startFastify } from '../src/bench/servers/fastify.js';
import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { flags, positive } from './measure.js';

if (process.argv[2] === '--fastify-cluster') {
  // Fastify's reference app in N processes: the cluster primary hands out connections.
  cluster.setupPrimary({ exec: FASTIFY_APP });
  const n = Number(process.argv[3]);
  for (let i = 0; i < n; i++) cluster.fork();
  process.once('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w!.process.kill('SIGTERM');
    cluster.once('exit', () => setTimeout(() => process.exit(0), 100));
  });
} else {
  await main();
}

/** The pid and every descendant of it. */
function tree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      parentOf.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of parentOf) if (pp === out[i]) out.push(p);
  return out;
}

function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      t += Number(fields[11]) + Number(fields[12]); // utime + stime
    } catch {
      /* gone */
    }
  }
  return t;
}

/** Context switches (voluntary + involuntary) of every thread of the processes. */
function switches(pids: number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
        const st = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
        for (const m of st.matchAll(/ctxt_switches:\s+(\d+)/g)) n += Number(m[1]);
      }
    } catch {
      /* gone */
    }
  }
  return n;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

interface Figure {
  rps: number;
  cpuUsPerReq: number;
  rss: string;
}

async function measureServer(name: string, server: ChildServerHandle, urlPath: string, duration: number, connections: number): Promise<Figure> {
  const url = server.url + urlPath;
  const pids = tree(server.pid); // supervisor first, then its children
  const idle = pids.map((p) => rssMiB(p).toFixed(0)).join('+');
  await autocannon({ url, connections, duration: 1 });
  const before = pids.map((p) => cpuTicks([p]));
  const switchesBefore = switches(pids);
  const r = await autocannon({ url, connections, duration });
  const each = pids.map((p, i) => cpuTicks([p]) - before[i]!);
  const switchesPerReq = (switches(pids) - switchesBefore) / r.requests.total;
  const ticks = each.reduce((a, b) => a + b, 0);
  const bad = r.errors + r.non2xx;
  const rss = pids.map((p) => rssMiB(p).toFixed(0)).join('+');
  const cores = ticks / 100 / duration; // CPU time over wall time: how many cores it kept busy
  const cpuUsPerReq = (ticks * 10_000) / r.requests.total; // clock ticks of 10 ms
  console.log(
    `${name.padEnd(24)} ${r.requests.average.toFixed(0).padStart(7)} req/s  CPU ${cpuUsPerReq.toFixed(1).padStart(6)} µs/req (${each.map((t) => ((t * 10_000) / r.requests.total).toFixed(1)).join('+')})  ${cores.toFixed(2)} cores  ${switchesPerReq.toFixed(2)} ctx switches/req  RSS MiB idle ${idle}, after load ${rss} (${pids.length} process${pids.length > 1 ? 'es' : ''})  errors+non2xx ${bad}`,
  );
  await server.stop();
  if (bad > 0) throw new Error(`${name}: ${bad} failed requests`);
  return { rps: r.requests.average, cpuUsPerReq, rss };
}

async function main(): Promise<void> {
  const USAGE = 'node dist/bench/processes.js [--duration S] [--connections N] [--rounds N] [--only loop|hello]';
  const values = flags({ duration: '8', connections: '50', rounds: '2', only: undefined }, USAGE);
  const only = values['only'];
  if (only !== undefined && only !== 'loop' && only !== 'hello') {
    console.error(`usage: ${USAGE}`);
    process.exit(2);
  }
  const [duration, connections, rounds] = positive(values, ['duration', 'connections', 'rounds'], USAGE) as [number, number, number];
  console.log(`node dist/bench/processes.js --duration ${duration} --connections ${connections} --rounds ${rounds}   (${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
  const php = (threads: number): Promise<ChildServerHandle> => startPhpasync(dir, { threads, bufferSize: 1000 });
  // Fastify's own answer to several cores: Node's cluster, its primary handing out connections.
  const fastify = (n: number): Promise<ChildServerHandle> =>
    spawnServer({ command: process.execPath, args: [process.argv[1]!, '--fastify-cluster', String(n)], listening: listeningLine });
  try {
    for (let round = 0; round < rounds; round++) {
      if (only !== 'hello') {
        const loop1 = await measureServer('php /loop  num 1', await php(1), '/loop', duration, connections);
        const loop2 = await measureServer('php /loop  num 2', await php(2), '/loop', duration, connections);
        console.log(`round ${round + 1}: /loop num2/num1 ${(loop2.rps / loop1.rps).toFixed(2)}x`);
      }
      if (only !== 'loop') {
        const hello1 = await measureServer('php /hello num 1', await php(1), '/hello', duration, connections);
        const hello2 = await measureServer('php /hello num 2', await php(2), '/hello', duration, connections);
        await measureServer('fastify hello 1 process', (await startFastify()) as ChildServerHandle, '/hello', duration, connections);
        const fast2 = await measureServer('fastify hello 2 processes', await fastify(2), '/hello', duration, connections);
        console.log(
          `round ${round + 1}: /hello num2/num1 ${(hello2.rps / hello1.rps).toFixed(2)}x · /hello num2 vs Fastify 2 processes ${(hello2.rps / fast2.rps).toFixed(2)}x`,
        );
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
