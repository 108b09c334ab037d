// Several PHP threads (needs the addon built against a thread-safe PHP: PHPASYNC_ZTS_ADDON).
// Measures, in one run, num 1 against num 2:
//  - a CPU-bound handler (a fixed loop calibrated to ~1 ms of PHP CPU per request): req/s ratio;
//  - hello-world: CPU per request of the Node main thread and of the PHP threads, read per
//    thread from /proc/<pid>/task/<tid>/stat, and from them how many PHP threads one Node
//    thread can feed for handlers of 50 µs, 200 µs and 1 ms of PHP time.
//   PHPASYNC_ZTS_ADDON=build-zts/Release/phpasync.node node dist/bench/threads.js [--duration 5] [--rounds 2] [--connections 32]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import autocannon from 'autocannon';

import { ROOT } from '../src/bench/paths.js';
import type { ChildServerHandle } from '../src/bench/servers/child.js';
import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { flags, positive } from './measure.js';

const USAGE = 'PHPASYNC_ZTS_ADDON=<zts addon> node dist/bench/threads.js [--duration S>0] [--rounds N>0] [--connections N>0]';
const values = flags({ duration: '5', rounds: '2', connections: '32' }, USAGE);
const [duration, rounds, connections] = positive(values, ['duration', 'rounds', 'connections'], USAGE) as [number, number, number];
const addon = process.env.PHPASYNC_ZTS_ADDON;
if (!addon) {
  console.error(`threads.js: PHPASYNC_ZTS_ADDON must name the addon built against a ZTS PHP (scripts/test-zts.sh builds build-zts/)\nusage: ${USAGE}`);
  process.exit(2);
}
const worker = path.join(ROOT, 'bench/threads.php');
const TICK_US = 1e6 / 100; // USER_HZ

interface ThreadCpu {
  main: number; // the Node main thread (tid == pid)
  php: number; // every php-N thread
  total: number; // the whole process
}

function ticks(file: string): { comm: string; us: number } {
  const stat = fs.readFileSync(file, 'utf8');
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { comm, us: (Number(f[11]) + Number(f[12])) * TICK_US };
}

function cpu(pid: number): ThreadCpu {
  let php = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const t = ticks(`/proc/${pid}/task/${tid}/stat`);
      if (/^php-\d+$/.test(t.comm)) php += t.us;
    } catch {
      // the thread ended meanwhile
    }
  }
  return { main: ticks(`/proc/${pid}/task/${pid}/stat`).us, php, total: ticks(`/proc/${pid}/stat`).us };
}

interface Result {
  rps: number;
  phpCores: number; // PHP threads' CPU seconds per wall second: the cores they got
  mainUs: number;
  phpUs: number;
  totalUs: number;
}

async function run(s: ChildServerHandle, url: string): Promise<Result> {
  await autocannon({ url, connections, duration: 1 }); // warm-up (JIT, pools)
  const a = cpu(s.pid);
  const t0 = process.hrtime.bigint();
  const r = await autocannon({ url, connections, duration });
  const b = cpu(s.pid);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  if (r.errors + r.non2xx > 0) throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  const n = r.requests.total;
  return { rps: r.requests.average, phpCores: (b.php - a.php) / wallUs, mainUs: (b.main - a.main) / n, phpUs: (b.php - a.php) / n, totalUs: (b.total - a.total) / n };
}

const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-')));
const env = { PHPASYNC_ADDON: path.resolve(addon) };
console.log(`node dist/bench/threads.js --duration ${duration} --rounds ${rounds} --connections ${connections}  (${os.cpus().length} CPUs, ${os.cpus()[0]?.model})`);
const one = await startPhpasync(dirs[0]!, { worker, threads: 1, bufferSize: 100, env });
const two = await startPhpasync(dirs[1]!, { worker, threads: 2, bufferSize: 100, env });
const fmt = (r: Result): string =>
  `${r.rps.toFixed(0).padStart(6)} req/s, PHP on ${r.phpCores.toFixed(2)} cores, CPU/req: main ${r.mainUs.toFixed(1)} us, PHP ${r.phpUs.toFixed(1)} us, process ${r.totalUs.toFixed(1)} us`;
try {
  // Calibrate the loop on num 1: n iterations -> PHP CPU per request.
  let n = 20000;
  for (let k = 0; k < 3; k++) {
    const r = await run(one, `${one.url}/cpu?n=${n}`);
    n = Math.max(1000, Math.round((n * 1000) / Math.max(r.phpUs, 1)));
  }
  console.log(`cpu handler: n=${n} iterations per request (~1 ms of PHP CPU on num 1)`);
  const ratios: number[] = [];
  const cores: number[] = []; // num 2, cpu handler
  const hello: { one: Result[]; two: Result[] } = { one: [], two: [] };
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? ([['num 1', one], ['num 2', two]] as const) : ([['num 2', two], ['num 1', one]] as const);
    const cpuRes: Record<string, Result> = {};
    for (const [name, s] of order) {
      cpuRes[name] = await run(s, `${s.url}/cpu?n=${n}`);
      console.log(`round ${i + 1} cpu   ${name}: ${fmt(cpuRes[name]!)}`);
    }
    ratios.push(cpuRes['num 2']!.rps / cpuRes['num 1']!.rps);
    cores.push(cpuRes['num 2']!.phpCores);
    console.log(`round ${i + 1} cpu   num 2 / num 1 = ${ratios.at(-1)!.toFixed(2)}x`);
    for (const [name, s] of order) {
      const r = await run(s, `${s.url}/hello`);
      (name === 'num 1' ? hello.one : hello.two).push(r);
      console.log(`round ${i + 1} hello ${name}: ${fmt(r)}`);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mainUs = median(hello.two.map((r) => r.mainUs));
  const phpUs = median(hello.one.map((r) => r.phpUs));
  console.log(`\ncpu-bound num 2 / num 1: median ${median(ratios).toFixed(2)}x (${ratios.map((x) => x.toFixed(2)).join(', ')})`);
  console.log(`cpu-bound num 2: the PHP threads ran on ${cores.map((x) => x.toFixed(2)).join(', ')} cores (2 = both cores to themselves; load average now ${os.loadavg()[0]!.toFixed(1)})`);
  console.log(`hello: Node main thread ${mainUs.toFixed(1)} us/request (num 2), PHP thread ${phpUs.toFixed(1)} us/request of overhead (num 1)`);
  console.log(`one Node thread serves at most ~${Math.round(1e6 / mainUs)} req/s; PHP threads it can keep busy:`);
  for (const t of [50, 200, 1000]) {
    console.log(`  handler ${String(t).padStart(4)} us of PHP time: ${((t + phpUs) / mainUs).toFixed(1)} threads`);
  }
} finally {
  await one.stop();
  await two.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}
