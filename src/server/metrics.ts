// Prometheus metrics of one server (Caddy's `metrics` global option), with prom-client: the
// names FrankenPHP uses where it has one (frankenphp_*), phpasync's own for the rest. Gauges are
// read from the engine when scraped; counters and the duration histogram are fed by the plugin
// (only when metrics are on: the request path pays nothing otherwise).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { PhpEngine } from './php-engine.js';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'worker'>;
  private readonly requestTime: Counter<'worker'>;
  private readonly duration: Histogram<'code'>;
  private readonly rejected: Counter;
  private readonly restarts: Counter<'worker'>;

  constructor(engine: PhpEngine, private readonly worker: string) {
    const registers = [this.registry];
    const threads = (): ReturnType<PhpEngine['stats']>['threads'] => engine.stats().threads;
    new Gauge({
      name: 'frankenphp_total_threads',
      help: 'PHP threads started',
      registers,
      collect() {
        this.set(threads().length);
      },
    });
    new Gauge({
      name: 'frankenphp_queue_depth',
      help: 'Requests waiting in the PHP threads\' rings',
      registers,
      collect() {
        this.set(threads().reduce((a, t) => a + t.queued, 0));
      },
    });
    new Gauge({
      name: 'phpasync_ring_depth',
      help: 'Requests waiting in one PHP thread\'s ring',
      labelNames: ['thread'],
      registers,
      collect() {
        threads().forEach((t, i) => this.set({ thread: String(i) }, t.queued));
      },
    });
    new Gauge({
      name: 'phpasync_requests_in_flight',
      help: 'Requests handed to PHP and not answered yet',
      registers,
      collect() {
        this.set(engine.stats().pendingRequests);
      },
    });
    this.requests = new Counter({ name: 'frankenphp_worker_request_count', help: 'Requests a worker answered', labelNames: ['worker'], registers });
    this.requestTime = new Counter({
      name: 'frankenphp_worker_request_time',
      help: 'Seconds spent answering requests, summed',
      labelNames: ['worker'],
      registers,
    });
    this.restarts = new Counter({ name: 'frankenphp_worker_restarts', help: 'Interpreter restarts of a worker', labelNames: ['worker'], registers });
    this.rejected = new Counter({ name: 'phpasync_rejected_total', help: 'Requests answered 503 because every ring was full', registers });
    this.duration = new Histogram({
      name: 'phpasync_request_duration_seconds',
      help: 'Time from the request reaching PHP to its response being written, by status code',
      labelNames: ['code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.requests.inc({ worker: worker }, 0);
    this.restarts.inc({ worker: worker }, 0);
  }

  answered(status: number, seconds: number): void {
    this.requests.inc({ worker: this.worker });
    this.requestTime.inc({ worker: this.worker }, seconds);
    this.duration.observe({ code: String(status) }, seconds);
  }

  rejectedOne(): void {
    this.rejected.inc();
  }

  restarted(): void {
    this.restarts.inc({ worker: this.worker });
  }
}
