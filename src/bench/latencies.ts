// Response times kept as float milliseconds: autocannon's own histogram rounds to whole
// milliseconds, too coarse for sub-millisecond loopback latencies.

/** The percentiles the report draws as a latency distribution (100 = the slowest response). */
export const DISTRIBUTION_PERCENTILES = [50, 75, 90, 95, 99, 99.9, 100] as const;

export interface Percentile {
  p: number;
  ms: number;
}

/** What the report needs from a set of latencies. */
export interface LatencySet {
  add(ms: number): void;
  readonly count: number;
  percentiles(...ps: number[]): (number | undefined)[];
  distribution(): Percentile[];
}

function distributionOf(set: LatencySet): Percentile[] {
  const values = set.percentiles(...DISTRIBUTION_PERCENTILES);
  return DISTRIBUTION_PERCENTILES.flatMap((p, i) => (values[i] === undefined ? [] : [{ p, ms: values[i]! }]));
}

/** Every latency of one round, exact. */
export class LatencyRecorder implements LatencySet {
  private values = new Float64Array(1 << 16);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentiles (p in 0..100) of everything recorded; undefined when empty. */
  percentiles(...ps: number[]): (number | undefined)[] {
    if (this.n === 0) return ps.map(() => undefined);
    const sorted = this.values.slice(0, this.n).sort();
    return ps.map((p) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))]);
  }

  /** DISTRIBUTION_PERCENTILES with their values; empty when nothing was recorded. */
  distribution(): Percentile[] {
    return distributionOf(this);
  }
}

const MIN_MS = 0.001;
const MAX_MS = 600_000;
/** Relative width of a bucket: a percentile is off by at most half of it. */
const STEP = 0.01;
const BUCKETS = Math.ceil(Math.log(MAX_MS / MIN_MS) / Math.log1p(STEP)) + 1;

/**
 * Latencies of all rounds of a scenario, in fixed memory (log-spaced buckets 1 % wide): a long
 * run with many rounds would otherwise keep millions of values per scenario until the end.
 */
export class LatencyHistogram implements LatencySet {
  private readonly buckets = new Float64Array(BUCKETS);
  private n = 0;

  add(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(ms / MIN_MS) / Math.log1p(STEP)));
    this.buckets[i]!++;
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest rank, as LatencyRecorder; a value is its bucket's geometric middle. */
  percentiles(...ps: number[]): (number | undefined)[] {
    if (this.n === 0) return ps.map(() => undefined);
    return ps.map((p) => {
      const rank = Math.min(this.n, Math.max(1, Math.ceil((p / 100) * this.n)));
      let seen = 0;
      for (let i = 0; i < BUCKETS; i++) {
        seen += this.buckets[i]!;
        if (seen >= rank) return MIN_MS * Math.pow(1 + STEP, i + 0.5);
      }
      return MAX_MS;
    });
  }

  distribution(): Percentile[] {
    return distributionOf(this);
  }
}
