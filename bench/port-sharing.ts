// How N processes share one listening port on this machine, measured three ways with a plain
// node:http hello-world child (no PHP, so only the sharing itself differs):
//   rr         Node's cluster, round-robin: the primary accepts and hands each connection over IPC
//   shared     Node's cluster with SCHED_NONE: every child accepts on one shared listening socket
//   reuseport  one SO_REUSEPORT socket per child (made by python3, handed over as fd 4): the
//              kernel hashes each connection to one child's accept queue
// Printed per mode: req/s, connections and requests per child (evenness under keep-alive),
// and CPU time per request summed over every server process (primary included, from /proc).
//   node dist/bench/port-sharing.js [--duration 5] [--connections 50] [--children 2] [--rounds 2]
import { spawn, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';

import autocannon from 'autocannon';

import { flags, positive } from './measure.js';

type Mode = 'rr' | 'shared' | 'reuseport';
const MODES: Mode[] = ['rr', 'shared', 'reuseport'];

/** A child: hello-world, counts connections and requests, prints them on SIGTERM. */
function serveChild(listen: (s: http.Server) => void): void {
  let conns = 0;
  let reqs = 0;
  const server = http.createServer((_req, res) => {
    reqs++;
    res.end('hello world');
  });
  server.on('connection', () => conns++);
  listen(server);
  process.once('SIGTERM', () => {
    process.stdout.write(`COUNT ${process.pid} ${conns} ${reqs}\n`);
    process.exit(0);
  });
  server.on('listening', () => process.stdout.write(`READY ${process.pid}\n`));
}

/** The server side of one mode (runs in its own process, so the load generator's CPU is apart). */
function servePrimary(mode: Mode, children: number, port: number): void {
  if (mode === 'reuseport') {
    // python3 makes the socket (Node 20 has no reusePort), dup2s it to fd 4 and execs node.
    const py = `import os,socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEPORT,1); s.bind(('127.0.0.1',int(sys.argv[1]))); s.listen(511)
os.dup2(s.fileno(),4); os.execv(sys.argv[2],sys.argv[2:])`;
    const procs: ChildProcess[] = [];
    for (let i = 0; i < children; i++) {
      procs.push(
        spawn('python3', ['-c', py, String(port), process.execPath, process.argv[1]!, '--role', 'child-fd'], {
          stdio: ['ignore', 'inherit', 'inherit'],
        }),
      );
    }
    process.once('SIGTERM', () => {
      let left = procs.length;
      for (const p of procs) {
        p.once('exit', () => --left === 0 && process.exit(0));
        p.kill('SIGTERM');
      }
    });
    return;
  }
  cluster.schedulingPolicy = mode === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: process.argv[1]!, args: ['--role', 'child-cluster', '--port', String(port)], silent: false });
  for (let i = 0; i < children; i++) cluster.fork();
  process.once('SIGTERM', () => {
    let left = children;
    for (const w of Object.values(cluster.workers ?? {})) {
      w!.process.once('exit', () => --left === 0 && process.exit(0));
      w!.process.kill('SIGTERM');
    }
  });
}

function cpuTicks(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (field 14 and 15)
  } catch {
    return 0;
  }
}

async function runMode(mode: Mode, duration: number, connections: number, children: number, port: number): Promise<void> {
  const primary = spawn(process.execPath, [process.argv[1]!, '--role', 'primary', '--mode', mode, '--children', String(children), '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pids: number[] = [primary.pid!];
  const counts: string[] = [];
  let out = '';
  await new Promise<void>((resolve) => {
    primary.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      let i: number;
      while ((i = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        if (line.startsWith('READY ')) {
          pids.push(Number(line.split(' ')[1]));
          if (pids.length === children + 1) resolve();
        } else if (line.startsWith('COUNT ')) counts.push(line);
      }
    });
  });
  const url = `http://127.0.0.1:${port}/`;
  await autocannon({ url, connections, duration: 1 });
  const before = pids.map(cpuTicks);
  const r = await autocannon({ url, connections, duration });
  const after = pids.map(cpuTicks);
  const exited = new Promise((resolve) => primary.once('exit', resolve));
  primary.kill('SIGTERM');
  await exited;
  const ticks = after.reduce((s, v, i) => s + v - before[i]!, 0);
  const primaryTicks = after[0]! - before[0]!;
  // Counts include the warm-up run: the split is what matters.
  const per = counts.map((c) => c.split(' ').slice(2).map(Number) as [number, number]);
  const reqs = per.map((p) => p[1]);
  const totalReqs = reqs.reduce((a, b) => a + b, 0);
  console.log(
    `${mode.padEnd(9)} ${r.requests.average.toFixed(0).padStart(6)} req/s  errors ${r.errors + r.non2xx}  ` +
      `conns/child ${per.map((p) => p[0]).join('/')}  req share ${reqs.map((n) => ((100 * n) / totalReqs).toFixed(0) + '%').join('/')}  ` +
      `CPU/req ${((ticks * 10_000) / r.requests.total).toFixed(1)} µs (primary ${((primaryTicks * 10_000) / r.requests.total).toFixed(1)} µs)`,
  );
}

const USAGE = 'node dist/bench/port-sharing.js [--duration S] [--connections N] [--children N] [--rounds N]';
const argv = process.argv.slice(2);
const role = argv[argv.indexOf('--role') + 1];
const arg = (name: string): string => argv[argv.indexOf(name) + 1]!;
if (argv.includes('--role') && role === 'primary') {
  servePrimary(arg('--mode') as Mode, Number(arg('--children')), Number(arg('--port')));
} else if (argv.includes('--role') && role === 'child-cluster') {
  serveChild((s) => s.listen(Number(arg('--port')), '127.0.0.1'));
} else if (argv.includes('--role') && role === 'child-fd') {
  serveChild((s) => s.listen({ fd: 4 }));
} else {
  const values = flags({ duration: '5', connections: '50', children: '2', rounds: '2' }, USAGE);
  const [duration, connections, children, rounds] = positive(values, ['duration', 'connections', 'children', 'rounds'], USAGE) as [number, number, number, number];
  console.log(`node dist/bench/port-sharing.js --duration ${duration} --connections ${connections} --children ${children} --rounds ${rounds}`);
  let port = 18000 + (process.pid % 1000);
  for (let round = 0; round < rounds; round++) for (const mode of MODES) await runMode(mode, duration, connections, children, port++);
}
