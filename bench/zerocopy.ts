// What sending a body from a host-owned block buys over copying it into a JS string: per size,
// one server with the default copy threshold (16 KiB: Node sends these bodies from the block
// end() copied them into, no further copy) and one with every body copied again into a latin1
// JS string (PHPASYNC_COPY_THRESHOLD=2^30), measured alternately in one run.
// Prints req/s and the server's CPU time per request (utime+stime of every thread of the
// process, from /proc/<pid>/stat): on a shared machine the CPU figure is the steadier one.
//   node dist/bench/zerocopy.js [--duration 4] [--connections 10] [--rounds 3] [--sizes 65536,1048576]
// With --baseline DIR the second server is instead another build of phpasync (DIR is its
// repository root, built) with the default threshold: the same comparison across two trees.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import autocannon from 'autocannon';

import { ROOT } from '../src/bench/paths.js';
import { listeningLine, spawnServer, type ChildServerHandle } from '../src/bench/servers/child.js';
import { benchCaddyfile, startPhpasync } from '../src/bench/servers/phpasync.js';
import { flags, positive } from './measure.js';

const USAGE = 'node dist/bench/zerocopy.js [--duration S>0] [--connections N>0] [--rounds N>0] [--sizes B,B,...] [--baseline DIR]';
const values = flags({ duration: '4', connections: '10', rounds: '3', sizes: '65536,1048576', baseline: undefined }, USAGE);
const [duration, connections, rounds] = positive(values, ['duration', 'connections', 'rounds'], USAGE) as [number, number, number];
const sizes = values.sizes!.split(',').map(Number);
if (sizes.some((s) => !(s > 0))) {
  console.error(`usage: ${USAGE}`);
  process.exit(2);
}
const worker = path.join(ROOT, 'test/fixtures/php/api-mib.php');
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** utime + stime of the whole process (every thread), in microseconds. */
function cpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US; // fields 14 and 15 of stat(5)
}

async function run(pid: number, url: string): Promise<{ rps: number; cpu: number }> {
  await autocannon({ url, connections, duration: 1 }); // warm-up
  const before = cpuUs(pid);
  const r = await autocannon({ url, connections, duration });
  const cpu = cpuUs(pid) - before;
  if (r.errors + r.non2xx > 0) throw new Error(`${url}: ${r.errors + r.non2xx} failed requests`);
  return { rps: r.requests.average, cpu: cpu / r.requests.total };
}

/** phpasync from another repository root (its own dist/ and build/), default settings. */
async function startOther(root: string, dir: string): Promise<ChildServerHandle> {
  const caddyfile = path.join(dir, 'Caddyfile');
  fs.writeFileSync(caddyfile, benchCaddyfile(worker, 1000));
  return spawnServer({ command: process.execPath, args: [path.resolve(root, 'dist/src/cli/main.js'), 'run', '--config', caddyfile], listening: listeningLine });
}

const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-')));
console.log(`node dist/bench/zerocopy.js --duration ${duration} --connections ${connections} --rounds ${rounds} --sizes ${values.sizes}${values.baseline ? ` --baseline ${values.baseline}` : ''}`);
const inplace = await startPhpasync(dirs[0]!, { worker, bufferSize: 1000 });
const copied = values.baseline
  ? await startOther(values.baseline, dirs[1]!)
  : await startPhpasync(dirs[1]!, { worker, bufferSize: 1000, env: { PHPASYNC_COPY_THRESHOLD: String(2 ** 30) } });
const other = values.baseline ? 'baseline' : 'copied';
try {
  for (const size of sizes) {
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first: drift in the neighbours' load then hits both alike.
      const order = i % 2 === 0 ? ([['inplace', inplace], ['copied', copied]] as const) : ([['copied', copied], ['inplace', inplace]] as const);
      const out: Record<string, { rps: number; cpu: number }> = {};
      for (const [name, s] of order) out[name] = await run(s.pid, `${s.url}/?size=${size}`);
      const l = out.inplace!;
      const c = out.copied!;
      console.log(
        `${String(size).padStart(8)} B round ${i + 1}: inplace ${l.rps.toFixed(0)} req/s ${l.cpu.toFixed(0)} us/req | ${other} ${c.rps.toFixed(0)} req/s ${c.cpu.toFixed(0)} us/req | inplace/${other} req/s ${(l.rps / c.rps).toFixed(2)}x cpu ${(l.cpu / c.cpu).toFixed(2)}x`,
      );
    }
  }
} finally {
  await inplace.stop();
  await copied.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}
