// Response times kept as float milliseconds: autocannon's own histogram rounds to whole
// milliseconds, too coarse for sub-millisecond loopback latencies.

export class LatencyRecorder {
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
}
