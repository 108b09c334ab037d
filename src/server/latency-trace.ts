// Per-stage latency of PHP requests, for finding where a request waits (bench use only).
// Off unless PHPASYNC_TRACE_LATENCY names a file: then each stage's samples (µs) are kept and
// their percentiles written there as JSON when the engine stops. When off, `latencyTrace` is
// undefined and the hot path pays one property test per stage.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const MAX_SAMPLES = 1 << 20;

class Stage {
  private readonly v = new Float64Array(MAX_SAMPLES);
  private n = 0;
  add(us: number): void {
    if (this.n < MAX_SAMPLES) this.v[this.n++] = us;
  }
  summary(): { n: number; p50: number; p90: number; p99: number; mean: number } {
    const s = this.v.subarray(0, this.n).sort();
    const at = (q: number): number => (this.n === 0 ? 0 : Math.round(s[Math.min(this.n - 1, Math.floor(q * this.n))]! * 10) / 10);
    let sum = 0;
    for (const x of s) sum += x;
    return { n: this.n, p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: this.n ? Math.round((sum / this.n) * 10) / 10 : 0 };
  }
}

export class LatencyTrace {
  private readonly stages = new Map<string, Stage>();
  readonly counts: Record<string, number> = {};
  /** Per busy second: event-loop utilization of the main thread and requests handed to PHP. */
  private readonly seconds: { elu: number; requests: number }[] = [];
  private elu = performance.eventLoopUtilization();
  private lastRequests = 0;
  constructor(private readonly file: string) {
    setInterval(() => {
      const now = performance.eventLoopUtilization();
      const requests = (this.counts.wakeNow ?? 0) + (this.counts.wakeDeferred ?? 0);
      const n = requests - this.lastRequests;
      if (n > 1000) this.seconds.push({ elu: Math.round(performance.eventLoopUtilization(now, this.elu).utilization * 100) / 100, requests: n });
      this.elu = now;
      this.lastRequests = requests;
    }, 1000).unref();
  }
  add(stage: string, us: number): void {
    let s = this.stages.get(stage);
    if (!s) this.stages.set(stage, (s = new Stage()));
    s.add(us);
  }
  count(name: string, by = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + by;
  }
  write(extra: Record<string, unknown>): void {
    const out: Record<string, unknown> = { counts: this.counts, seconds: this.seconds, ...extra };
    for (const [k, s] of this.stages) out[k] = s.summary();
    writeFileSync(this.file, JSON.stringify(out, null, 1) + '\n');
  }
}

const file = process.env.PHPASYNC_TRACE_LATENCY;
export const latencyTrace: LatencyTrace | undefined = file ? new LatencyTrace(file) : undefined;
