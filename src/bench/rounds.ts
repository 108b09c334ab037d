// `--rounds N`: every scenario is measured N times, the rounds alternating between scenarios
// so that a slow moment of a shared machine hits all of them alike. The headline figure is the
// median round; the latencies of all rounds are pooled for the percentiles.

import type { LatencySet } from './latencies.js';
import type { RoundFigures } from './result.js';
import type { Measurement } from './runner.js';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function roundFigures(m: Measurement): RoundFigures {
  const f: RoundFigures = { reqPerSec: m.acceptedPerSec, responsesPerSec: m.reqPerSec };
  if (m.acceptedP50Ms !== undefined) f.acceptedP50Ms = m.acceptedP50Ms;
  if (m.acceptedP99Ms !== undefined) f.acceptedP99Ms = m.acceptedP99Ms;
  if (m.responses > 0) f.share503 = (m.statusCodes['503'] ?? 0) / m.responses;
  return f;
}

/** One measurement for all rounds: counts summed, percentiles over every recorded latency. */
export function poolRounds(rounds: readonly Measurement[], all: LatencySet, accepted: LatencySet): Measurement {
  if (rounds.length === 1) return rounds[0]!;
  const sum = (f: (m: Measurement) => number): number => rounds.reduce((acc, m) => acc + f(m), 0);
  const durationS = sum((m) => m.durationS);
  const statusCodes: Record<string, number> = {};
  for (const m of rounds) for (const [code, n] of Object.entries(m.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const [p50, p99] = all.percentiles(50, 99);
  const [a50, a99] = accepted.percentiles(50, 99);
  const responses = sum((m) => m.responses);
  const acceptedN = sum((m) => m.accepted);
  return {
    durationS,
    connections: rounds[0]!.connections,
    responses,
    reqPerSec: responses / durationS,
    p50Ms: p50,
    p99Ms: p99,
    accepted: acceptedN,
    acceptedPerSec: acceptedN / durationS,
    acceptedP50Ms: a50,
    acceptedP99Ms: a99,
    acceptedPercentilesMs: accepted.distribution(),
    errors: sum((m) => m.errors),
    timeouts: sum((m) => m.timeouts),
    non2xx: sum((m) => m.non2xx),
    statusCodes,
    mismatches: sum((m) => m.mismatches),
  };
}
