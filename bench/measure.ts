// The measuring step the standalone bench scripts share: a warm-up, then the measured run.
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

/** Positive number flags, or exit 2 with the usage line. */
export function positive(values: Record<string, string | undefined>, names: string[], usage: string): number[] {
  const out = names.map((n) => Number(values[n]));
  if (out.some((v) => !(v > 0))) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return out;
}
