// The HTML report: the same table as the terminal, then one card per scenario with bar
// charts comparing it to its reference (and bound), so people look rather than read.

import { describeMachine } from './machine.js';
import { notes, ratioText } from './describe.js';
import { fmtInt, fmtMs, fmtPct, fmtRps } from './format.js';
import type { BenchReport, ScenarioResult } from './result.js';
import { barChart, escapeXml, type Bar } from './svg.js';

const COLOR = { self: '#2f6fdf', reference: '#9aa5b1', bound: '#e0a030', accepted: '#2e9e5b', rejected: '#d9534f' };

function throughputBars(r: ScenarioResult, byName: Map<string, ScenarioResult>): Bar[] {
  const bars: Bar[] = [{ label: r.scenario, value: r.reqPerSec ?? 0, text: `${fmtRps(r.reqPerSec)} req/s`, color: COLOR.self }];
  const ref = r.reference !== undefined ? byName.get(r.reference) : undefined;
  // A bound already accounts for its reference; drawing both would squash the bars that matter.
  if (ref?.status === 'ok' && !r.bound) bars.push({ label: ref.scenario, value: ref.reqPerSec ?? 0, text: `${fmtRps(ref.reqPerSec)} req/s`, color: COLOR.reference });
  if (r.bound) bars.push({ label: `bound (${r.bound.limitedBy})`, value: r.bound.reqPerSec, text: `${fmtRps(r.bound.reqPerSec)} req/s`, color: COLOR.bound });
  return bars;
}

function latencyBars(r: ScenarioResult, byName: Map<string, ScenarioResult>): Bar[] {
  const m = r.measurement;
  if (!m) return [];
  const p50 = m.acceptedP50Ms;
  const p99 = m.acceptedP99Ms;
  const bars: Bar[] = [
    { label: `${r.scenario} p50`, value: p50 ?? 0, text: fmtMs(p50), color: COLOR.self },
    { label: `${r.scenario} p99`, value: p99 ?? 0, text: fmtMs(p99), color: COLOR.self },
  ];
  const ref = r.reference !== undefined ? byName.get(r.reference) : undefined;
  if (ref?.status === 'ok' && ref.measurement) {
    const rm = ref.measurement;
    bars.push({ label: `${ref.scenario} p50`, value: rm.acceptedP50Ms ?? 0, text: fmtMs(rm.acceptedP50Ms), color: COLOR.reference });
    bars.push({ label: `${ref.scenario} p99`, value: rm.acceptedP99Ms ?? 0, text: fmtMs(rm.acceptedP99Ms), color: COLOR.reference });
  }
  return bars;
}

function overloadBars(r: ScenarioResult): Bar[] {
  if (!r.overload || !r.measurement) return [];
  const m = r.measurement;
  const rejected = m.statusCodes['503'] ?? 0;
  return [
    { label: 'accepted (2xx)', value: m.accepted, text: `${fmtInt(m.accepted)} (${fmtPct(m.responses ? m.accepted / m.responses : 0)})`, color: COLOR.accepted },
    { label: 'rejected (503)', value: rejected, text: `${fmtInt(rejected)} (${fmtPct(r.overload.share503)})`, color: COLOR.rejected },
  ];
}

function card(r: ScenarioResult, report: BenchReport, byName: Map<string, ScenarioResult>): string {
  const head = `<h2 id="${escapeXml(r.scenario)}">${escapeXml(r.scenario)} <small>${escapeXml(ratioText(r, report))}</small></h2><p>${escapeXml(r.measures)}</p>`;
  const ns = notes(r);
  const noteHtml = ns.length ? `<p class="notes">${ns.map(escapeXml).join('<br>')}</p>` : '';
  if (r.status !== 'ok') return `<section class="card ${r.status}">${head}${noteHtml}</section>`;
  const charts = [barChart('Throughput (higher is better)', throughputBars(r, byName)), barChart('Latency of 2xx responses (lower is better)', latencyBars(r, byName))];
  const ob = overloadBars(r);
  if (ob.length) charts.push(barChart('Responses under overload', ob));
  return `<section class="card">${head}${charts.join('')}${noteHtml}</section>`;
}

function table(report: BenchReport): string {
  const rows = report.results.map((r) => {
    const m = r.measurement;
    const cells = [fmtRps(r.reqPerSec), fmtMs(m?.acceptedP50Ms), fmtMs(m?.acceptedP99Ms), fmtInt(m?.errors), fmtInt(m?.non2xx), ratioText(r, report)];
    return `<tr><td><a href="#${escapeXml(r.scenario)}">${escapeXml(r.scenario)}</a></td>${cells.map((c) => `<td class="n">${escapeXml(c)}</td>`).join('')}<td>${escapeXml(notes(r).join('; '))}</td></tr>`;
  });
  return `<table><thead><tr><th>scenario</th><th>req/s</th><th>p50</th><th>p99</th><th>errors</th><th>non-2xx</th><th>ratio</th><th>notes</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function formatHtml(report: BenchReport): string {
  const byName = new Map(report.results.map((r) => [r.scenario, r]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>phpasync bench</title>
<style>
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#1d2430}
code{background:#f1f3f5;padding:.2em .4em;border-radius:3px}
table{border-collapse:collapse;font-size:14px;margin:1em 0}th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.card{border:1px solid #e3e6ea;border-radius:6px;padding:0 1em 1em;margin:1em 0}.card svg{display:block;margin:.8em 0}
.card.skipped,.card.failed{background:#fafafa;color:#555}.notes{color:#555;font-size:14px}h2 small{font-weight:400;color:#555}
</style></head><body>
<h1>phpasync bench</h1>
<p><code>$ ${escapeXml(report.command)}</code></p>
<p>${escapeXml(describeMachine(report))}</p>
<p>Ratios compare figures measured in this same run; absolute figures on a shared machine are noisy.</p>
${table(report)}
${report.results.map((r) => card(r, report, byName)).join('\n')}
</body></html>
`;
}
