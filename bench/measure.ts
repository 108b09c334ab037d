// What the standalone bench scripts share: autocannon's measured run after a warm-up, flag
// checks, and the keep-alive client and RSS reading of the leak checks (bench/leak.ts and
// test/faults-leak.test.ts).
import fs from 'node:fs';
import http from 'node:http';

import { parseArgs } from 'node:util';

import autocannon from 'autocannon';

/** req/s of `url`; prints one line. Throws when any request failed (a ratio of failures means nothing). */
export async function measure(name: string, url: string, duration: number, connections: number): Promise<number> {
  await autocannon({ url, connections, duration: 1 }); // warm-up: JIT, OPcache, pooled fibers
  const r = await autocannon({ url, connections, duration });
  const bad = r.errors + r.non2xx;
  console.log(
    `${name.padEnd(28)} ${r.requests.average.toFixed(0).padStart(7)} req/s  ${(r.throughput.average / 1048576).toFixed(0).padStart(5)} MiB/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  errors+non2xx ${bad}`,
  );
  if (bad > 0) throw new Error(`${name}: ${bad} failed requests`);
  return r.requests.average;
}

/** `--name value` flags (all strings, with defaults), or exit 2 with parseArgs' complaint and the
 * usage line: an unknown flag or a value that looks like a flag (`--rounds -1`) is bad input,
 * not a crash. */
export function flags(defaults: Record<string, string | undefined>, usage: string): Record<string, string | undefined> {
  const options: Record<string, { type: 'string'; default?: string }> = {};
  for (const [name, dflt] of Object.entries(defaults)) options[name] = dflt === undefined ? { type: 'string' } : { type: 'string', default: dflt };
  try {
    return parseArgs({ options }).values as Record<string, string | undefined>;
  } catch (err) {
    console.error(`${(err as Error).message}\nusage: ${usage}`);
    process.exit(2);
  }
}

/** Positive number flags, or exit 2 with the usage line. */
export function positive(values: Record<string, string | undefined>, names: string[], usage: string): number[] {
  const out = names.map((n) => Number(values[n]));
  if (out.some((v) => !(v > 0))) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return out;
}

/** GETs over at most `connections` keep-alive connections; anything but a 200 rejects. */
export class KeepAliveClient {
  /** Requests sent so far by sendUntil(). */
  sent = 0;
  private readonly agent: http.Agent;

  constructor(
    private readonly baseUrl: string,
    private readonly connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  get(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      http
        .get(this.baseUrl + path, { agent: this.agent }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`))));
        })
        .on('error', reject);
    });
  }

  /** One closed loop per connection, GETting `path` until `sent` reaches `total`. */
  async sendUntil(total: number, path: string): Promise<void> {
    await Promise.all(
      Array.from({ length: this.connections }, async () => {
        while (this.sent < total) {
          this.sent++;
          await this.get(path);
        }
      }),
    );
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}
