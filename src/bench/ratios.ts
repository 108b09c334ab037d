// Ratios, each against a figure of the same run: a reference scenario, or a bound. Waiting
// scenarios get Little's law, min(c / latency, CPU bound); CPU-burning ones get
// min(threads / work, CPU bound). The CPU bound is the reference's (php-hello's) throughput:
// a handler cannot beat the same server doing nothing. With several rounds, round i is also
// taken against round i of its reference: the rounds alternate, so those ran side by side.

import type { ScenarioResult } from './result.js';
import type { Scenario } from './scenarios.js';
import { PHP_THREADS } from './servers/phpasync.js';

/** Round-by-round ratios, when both sides have the same number of rounds. */
function perRound(r: ScenarioResult, den: ScenarioResult | undefined, denOf: (refRps: number) => number): number[] | undefined {
  const mine = r.rounds;
  const theirs = den?.rounds;
  if (!mine || !theirs || mine.length !== theirs.length || mine.length < 2) return undefined;
  return mine.map((x, i) => x.reqPerSec / denOf(theirs[i]!.reqPerSec));
}

export function computeRatios(results: ScenarioResult[], scenarios: readonly Scenario[]): void {
  const byName = new Map(results.map((r) => [r.scenario, r]));
  for (const r of results) {
    const s = scenarios.find((x) => x.name === r.scenario);
    if (!s || r.status !== 'ok' || r.reqPerSec === undefined || r.measurement === undefined) continue;
    const ref = s.reference !== undefined ? byName.get(s.reference) : undefined;
    const refRps = ref?.status === 'ok' ? ref.reqPerSec : undefined;
    const yard = s.yardstick !== undefined ? byName.get(s.yardstick) : undefined;
    if (yard?.status === 'ok' && yard.reqPerSec !== undefined && yard.reqPerSec > 0) {
      r.yardstick = yard.scenario;
      r.yardstickRatio = r.reqPerSec / yard.reqPerSec;
      const rr = perRound(r, yard, (x) => x);
      if (rr) r.yardstickRoundRatios = rr;
    }
    if (s.latencyBoundMs !== undefined || s.workBoundMs !== undefined) {
      const own =
        s.latencyBoundMs !== undefined ? r.measurement.connections / (s.latencyBoundMs / 1000) : (PHP_THREADS * 1000) / s.workBoundMs!;
      const cpuBound = refRps;
      const limitedBy = cpuBound !== undefined && cpuBound < own ? 'cpu' : s.latencyBoundMs !== undefined ? 'latency' : 'work';
      const bound = limitedBy === 'cpu' ? cpuBound! : own;
      r.bound = { reqPerSec: bound, ownBoundReqPerSec: own, limitedBy };
      if (cpuBound !== undefined) r.bound.cpuBoundReqPerSec = cpuBound;
      r.ratio = r.reqPerSec / bound;
      const rr = ref?.status === 'ok' ? perRound(r, ref, (x) => Math.min(own, x)) : undefined;
      if (rr) r.roundRatios = rr;
      continue;
    }
    if (refRps !== undefined && refRps > 0) {
      r.ratio = r.reqPerSec / refRps;
      const rr = perRound(r, ref, (x) => x);
      if (rr) r.roundRatios = rr;
    }
  }
}
