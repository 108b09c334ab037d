// Ratios, each against a figure of the same run: a reference scenario, or a bound. Waiting
// scenarios get Little's law, min(c / latency, CPU bound); CPU-burning ones get
// min(threads / work, CPU bound). The CPU bound is the reference's (php-hello's) throughput:
// a handler cannot beat the same server doing nothing.

import type { ScenarioResult } from './result.js';
import type { Scenario } from './scenarios.js';
import { PHP_THREADS } from './servers/phpasync.js';

export function computeRatios(results: ScenarioResult[], scenarios: readonly Scenario[]): void {
  const byName = new Map(results.map((r) => [r.scenario, r]));
  for (const r of results) {
    const s = scenarios.find((x) => x.name === r.scenario);
    if (!s || r.status !== 'ok' || r.reqPerSec === undefined || r.measurement === undefined) continue;
    const ref = s.reference !== undefined ? byName.get(s.reference) : undefined;
    const refRps = ref?.status === 'ok' ? ref.reqPerSec : undefined;
    if (s.latencyBoundMs !== undefined || s.workBoundMs !== undefined) {
      const own =
        s.latencyBoundMs !== undefined ? r.measurement.connections / (s.latencyBoundMs / 1000) : (PHP_THREADS * 1000) / s.workBoundMs!;
      const cpuBound = refRps;
      const limitedBy = cpuBound !== undefined && cpuBound < own ? 'cpu' : s.latencyBoundMs !== undefined ? 'latency' : 'work';
      const bound = limitedBy === 'cpu' ? cpuBound! : own;
      r.bound = { reqPerSec: bound, ownBoundReqPerSec: own, limitedBy };
      if (cpuBound !== undefined) r.bound.cpuBoundReqPerSec = cpuBound;
      r.ratio = r.reqPerSec / bound;
      continue;
    }
    if (refRps !== undefined && refRps > 0) r.ratio = r.reqPerSec / refRps;
  }
}
