// What bench/hello.ts measures with: CPU time of a server's threads read from /proc (schedstat,
// nanoseconds, far finer than the 10 ms ticks of /proc/<pid>/stat), one closed-loop run through
// autocannon, and an open-loop paced client for latency at a fixed offered rate.
import fs from 'node:fs';
import net from 'node:net';

import autocannon from 'autocannon';

import { LatencyRecorder } from '../src/bench/latencies.js';

/** CPU nanoseconds a thread has run (first field of /proc/<pid>/task/<tid>/schedstat). */
function threadNs(pid: number, tid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
}

export interface CpuReading {
  /** The main thread (tid == pid): the JS event loop. */
  mainNs: number;
  /** Every thread of the process. */
  totalNs: number;
}

export function readCpu(pid: number): CpuReading {
  let totalNs = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      totalNs += threadNs(pid, Number(tid));
    } catch {
      // the thread ended meanwhile
    }
  }
  return { mainNs: threadNs(pid, pid), totalNs };
}

export interface Request {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface Run {
  /** 2xx responses per second. */
  rps: number;
  /** Every response, and those that were not 2xx (or failed). */
  responses: number;
  bad: number;
  /** CPU µs per response: the server's main thread, and all its threads. */
  mainUs: number;
  totalUs: number;
  p50Ms: number;
  p99Ms: number;
}

/** A closed-loop run (autocannon, `connections` at once) after a 1 s warm-up, with the
 * server's CPU over the measured part. */
export async function closedLoop(pid: number, url: string, req: Request, connections: number, durationS: number): Promise<Run> {
  const opts = {
    url: url + req.path,
    method: req.method ?? 'GET',
    headers: req.headers,
    body: req.body as unknown as string, // autocannon sends a Buffer as is; its types say string
    connections,
  };
  await autocannon({ ...opts, duration: 1 });
  const lat = new LatencyRecorder();
  let ok = 0;
  const a = readCpu(pid);
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const inst = autocannon({ ...opts, duration: durationS }, (err, res) => (err ? reject(err as Error) : resolve(res)));
    inst.on('response', (_c, status, _b, ms) => {
      if (status >= 200 && status < 300) {
        ok++;
        lat.add(ms);
      }
    });
  });
  const b = readCpu(pid);
  const responses = r.requests.total;
  const [p50, p99] = lat.percentiles(50, 99);
  return {
    rps: ok / r.duration,
    responses,
    bad: r.errors + r.non2xx,
    mainUs: (b.mainNs - a.mainNs) / 1000 / Math.max(responses, 1),
    totalUs: (b.totalNs - a.totalNs) / 1000 / Math.max(responses, 1),
    p50Ms: p50 ?? NaN,
    p99Ms: p99 ?? NaN,
  };
}

/**
 * An open loop: `rate` GETs per second spread over `connections` keep-alive connections (one
 * request in flight on each), due every millisecond whatever the server answers. A request's
 * latency runs from the timer tick that made it due (so time spent queued behind a busy
 * connection counts, as in wrk2) to the end of its response. autocannon's own rate limit sends
 * each second's requests in a burst at the start of the second, which is not half load.
 */
export async function pacedLoop(pid: number, url: string, path: string, rate: number, connections: number, durationS: number): Promise<Run> {
  const { hostname, port } = new URL(url);
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  const lat = new LatencyRecorder();
  let ok = 0;
  let responses = 0;
  let bad = 0;
  let recording = false;
  const queue: number[] = []; // due times of requests no connection has taken yet
  const idle: Conn[] = [];

  class Conn {
    readonly socket: net.Socket;
    private buf: Buffer = Buffer.alloc(0);
    private due = 0;
    constructor() {
      this.socket = net.connect(Number(port), hostname);
      this.socket.setNoDelay(true);
      this.socket.on('data', (d: Buffer) => this.onData(d));
      this.socket.on('error', () => bad++);
    }
    send(due: number): void {
      this.due = due;
      this.socket.write(request);
    }
    private onData(d: Buffer): void {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      for (;;) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString('latin1');
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!m) throw new Error(`paced client: a response without Content-Length:\n${head}`);
        const total = end + 4 + Number(m[1]);
        if (this.buf.length < total) return;
        this.buf = this.buf.subarray(total);
        const status = Number(head.slice(9, 12));
        const ms = performance.now() - this.due;
        if (recording) {
          responses++;
          if (status >= 200 && status < 300) {
            ok++;
            lat.add(ms);
          } else bad++;
        }
        const next = queue.shift();
        if (next !== undefined) this.send(next);
        else idle.push(this);
      }
    }
  }

  const conns = Array.from({ length: connections }, () => new Conn());
  await Promise.all(conns.map((c) => new Promise((resolve) => c.socket.once('connect', resolve))));
  idle.push(...conns);
  const run = (seconds: number): Promise<void> =>
    new Promise((resolve) => {
      const start = performance.now();
      let made = 0;
      const tick = (): void => {
        const now = performance.now();
        const due = Math.min(Math.floor(((now - start) / 1000) * rate), Math.floor(seconds * rate));
        for (; made < due; made++) {
          const c = idle.pop();
          if (c) c.send(now);
          else queue.push(now);
        }
        if (now - start < seconds * 1000) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
  await run(1); // warm-up
  const a = readCpu(pid);
  const t0 = performance.now();
  recording = true;
  await run(durationS);
  // The requests still out finish within a moment; they count.
  const waitUntil = performance.now() + 2000;
  while ((queue.length > 0 || idle.length < conns.length) && performance.now() < waitUntil) await new Promise((r) => setTimeout(r, 5));
  const wall = (performance.now() - t0) / 1000;
  const b = readCpu(pid);
  for (const c of conns) c.socket.destroy();
  const [p50, p99] = lat.percentiles(50, 99);
  return {
    rps: ok / wall,
    responses,
    bad: bad + queue.length + (conns.length - idle.length),
    mainUs: (b.mainNs - a.mainNs) / 1000 / Math.max(responses, 1),
    totalUs: (b.totalNs - a.totalNs) / 1000 / Math.max(responses, 1),
    p50Ms: p50 ?? NaN,
    p99Ms: p99 ?? NaN,
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
