// The words next to each figure: what its ratio is against and anything a reader must know
// to trust it (skips, failures, wrong bodies, overload shares). Shared by table and HTML.

import { fmtMs, fmtPct, fmtRatio, fmtRps } from './format.js';
import type { BenchReport, ScenarioResult } from './result.js';

export function ratioText(r: ScenarioResult, report: BenchReport): string {
  if (r.status !== 'ok') return '—';
  if (r.ratio === undefined) {
    const isReference = report.results.some((x) => x.reference === r.scenario && !x.bound);
    return isReference ? 'reference' : '—';
  }
  if (r.bound) return `${fmtRatio(r.ratio)} of bound`;
  return `${fmtRatio(r.ratio)} ${r.reference}`;
}

/** The spread of the rounds, for the table (the HTML report draws it). */
export function roundsNote(rps: number[]): string {
  return `${rps.length} rounds: ${fmtRps(Math.min(...rps))}–${fmtRps(Math.max(...rps))} req/s`;
}

export function notes(r: ScenarioResult): string[] {
  if (r.status !== 'ok') return [`${r.status}: ${r.reason?.split('\n')[0] ?? ''}`];
  const out: string[] = [];
  const m = r.measurement;
  if (r.bound) {
    const b = r.bound;
    const own = r.overload ? 'threads / work' : `c=${m?.connections} / latency`;
    out.push(
      b.limitedBy === 'cpu'
        ? `bound ${fmtRps(b.reqPerSec)} req/s (CPU: ${r.reference}; ${own} = ${fmtRps(b.ownBoundReqPerSec)})`
        : `bound ${fmtRps(b.reqPerSec)} req/s (${own})`,
    );
  }
  if (r.yardstickRatio !== undefined) out.push(`${fmtRatio(r.yardstickRatio)} ${r.yardstick}`);
  if (r.rounds && r.rounds.length > 1) out.push(roundsNote(r.rounds.map((x) => x.reqPerSec)));
  const share503 = m && m.responses > 0 ? (m.statusCodes['503'] ?? 0) / m.responses : 0;
  if (!r.overload && share503 > 0) out.push(`${fmtPct(share503)} answered 503 (ring full at c=${m?.connections})`);
  if (r.overload) {
    out.push(`c=${m?.connections}: ${fmtPct(r.overload.share503)} 503s, p99 of accepted ${fmtMs(r.overload.acceptedP99Ms)}, ${fmtRps(r.overload.responsesPerSec)} responses/s`);
  }
  // autocannon checks the body of every response; a 503's never matches, so only the excess is wrong 2xx.
  const wrong = m ? Math.max(0, m.mismatches - m.non2xx) : 0;
  if (wrong > 0) out.push(`${wrong} 2xx responses with a wrong body`);
  if (r.addedAsReference) out.push('added as a reference');
  return out;
}
