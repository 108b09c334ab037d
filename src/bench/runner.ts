// One load run against a URL with autocannon's programmatic API, reduced to the figures the
// report shows. autocannon runs in this process; the server runs in a child.

import autocannon from 'autocannon';
import { PhpasyncError } from '../server/errors.js';
import { LatencyRecorder, type LatencySet, type Percentile } from './latencies.js';
import type { RequestSpec } from './scenarios.js';

export interface LoadOptions {
  url: string;
  request: RequestSpec;
  connections: number;
  durationS: number;
  /** Called about every 100 ms with the seconds elapsed, for the progress bar. */
  onProgress?: (elapsedS: number) => void;
  /** Also record every latency here: the rounds of a scenario pool theirs for its distribution. */
  pool?: { all: LatencySet; accepted: LatencySet };
}

export interface Measurement {
  durationS: number;
  connections: number;
  /** Responses of any status. */
  responses: number;
  reqPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
  /** 2xx responses only: what an overloaded server actually served. */
  accepted: number;
  acceptedPerSec: number;
  acceptedP50Ms?: number;
  acceptedP99Ms?: number;
  /** Percentiles of the 2xx latencies (DISTRIBUTION_PERCENTILES), for the report's distribution. */
  acceptedPercentilesMs?: Percentile[];
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** 2xx responses whose body was not the expected one. */
  mismatches: number;
}

export function load(opts: LoadOptions): Promise<Measurement> {
  const all = new LatencyRecorder();
  const accepted = new LatencyRecorder();
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const instance = autocannon(
      {
        url: opts.url + opts.request.path,
        method: opts.request.method ?? 'GET',
        headers: opts.request.headers,
        body: opts.request.body as unknown as string, // autocannon sends a Buffer as is; its types say string
        expectBody: opts.request.expectBody,
        connections: opts.connections,
        duration: opts.durationS,
      },
      (err, result) => {
        clearInterval(ticker);
        if (err) {
          reject(err instanceof Error ? err : new PhpasyncError('PHPASYNC_BENCH_LOAD', [String(err)]));
          return;
        }
        const statusCodes: Record<string, number> = {};
        for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0;
        const durationS = result.duration > 0 ? result.duration : opts.durationS;
        const [p50, p99] = all.percentiles(50, 99);
        const [a50, a99] = accepted.percentiles(50, 99);
        resolve({
          durationS,
          connections: opts.connections,
          responses: all.count,
          reqPerSec: all.count / durationS,
          p50Ms: p50,
          p99Ms: p99,
          accepted: accepted.count,
          acceptedPerSec: accepted.count / durationS,
          acceptedP50Ms: a50,
          acceptedP99Ms: a99,
          acceptedPercentilesMs: accepted.distribution(),
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          statusCodes,
          mismatches: result.mismatches,
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      all.add(ms);
      opts.pool?.all.add(ms);
      if (status >= 200 && status < 300) {
        accepted.add(ms);
        opts.pool?.accepted.add(ms);
      }
    });
    const ticker = setInterval(() => opts.onProgress?.((Date.now() - started) / 1000), 100);
  });
}
