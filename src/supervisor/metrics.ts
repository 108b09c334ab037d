// /metrics of a server running several processes. Each child keeps its own prom-client registry
// (src/server/metrics.ts) fed by its own requests; when scraped, the supervisor asks every child
// for it over the IPC channel and serves the sum (prom-client's AggregatorRegistry.aggregate:
// counters, histogram buckets and gauges summed per label set), plus its own process counters.
// prom-client's clusterMetrics() does not fit: it asks the `cluster` module's workers, and these
// children are fork()ed processes that take their connections from the supervisor.
//
// Sums never go down when a child dies: what a dead child last reported stays in the counters
// and histograms (its gauges go with it), so a restart does not look like a counter reset.
import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** One child's registry, as `registry.getMetricsAsJSON()` gives it (sent over IPC as is). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** How the supervisor reaches its children when scraped. */
export interface MetricsSources {
  /** The latest metrics of every live child (its last answer if it did not answer in time). */
  children(): Promise<MetricsJson[]>;
  /** Children serving now. */
  serving(): number;
}

export class SupervisorMetrics {
  private readonly own = new Registry();
  private readonly restarts: Counter<'child'>;
  /** Counters and histograms of the children gone, summed. */
  private retired: MetricsJson = [];
  /** What the admin endpoint serves (src/server/admin.ts). */
  readonly registry: { readonly contentType: string; metrics(): Promise<string> };

  constructor(private readonly sources: MetricsSources, childIds: number[]) {
    this.restarts = new Counter({
      name: 'phpasync_process_restarts_total',
      help: 'Child processes started again after one died (or failed to start), by child id',
      labelNames: ['child'],
      registers: [this.own],
    });
    for (const id of childIds) this.restarts.inc({ child: String(id) }, 0);
    new Gauge({
      name: 'phpasync_processes',
      help: 'Child processes serving',
      registers: [this.own],
      collect() {
        this.set(sources.serving());
      },
    });
    this.registry = { contentType: this.own.contentType, metrics: () => this.text() };
  }

  restarted(childId: number): void {
    this.restarts.inc({ child: String(childId) });
  }

  /** A child is gone: its last counters stay in the sums. */
  retire(last: MetricsJson | undefined): void {
    if (!last || last.length === 0) return;
    // At run time `type` is the name prom-client prints ('counter', …), whatever its typings say.
    const kept = (j: MetricsJson): MetricsJson => j.filter((m) => ['counter', 'histogram'].includes(String(m.type)));
    this.retired = kept(aggregateJson([this.retired, kept(last)]));
  }

  private async text(): Promise<string> {
    // Taken before asking: a child that dies meanwhile counts once, by its answer or its last one.
    const retired = this.retired;
    const children = await this.sources.children();
    const summed = AggregatorRegistry.aggregate([...children, retired].filter((j) => j.length > 0));
    return Registry.merge([summed as Registry, this.own]).metrics();
  }
}

/** The key by key sum of registries' JSON, as JSON (what aggregate() returns, read back). */
function aggregateJson(all: MetricsJson[]): MetricsJson {
  const registry = AggregatorRegistry.aggregate(all.filter((j) => j.length > 0));
  // The aggregated metrics are plain objects whose get() returns the sum: no collect() to await.
  return registry.getMetricsAsArray().map((m) => (m as unknown as { get(): MetricObjectWithValues<MetricValue<string>> }).get());
}
