// The HTML report, a pure function of the result JSON: the ratios first (the figures to
// read), then one section per group of scenarios (report-groups.ts) with throughput and
// latency on one scale each, then the table of every figure. Inline CSS only, no script and
// no external asset: the file opens anywhere, offline.

import { describeMachine } from './machine.js';
import { notes, ratioText } from './describe.js';
import { fmtInt, fmtMs, fmtPct, fmtRatio, fmtRps } from './format.js';
import type { Percentile } from './latencies.js';
import type { BenchReport, ScenarioResult } from './result.js';
import { barChart, distributionChart, escapeHtml, linearScale, logScale, type BarRow, type DistRow } from './report-chart.js';
import { groupResults, kindOf, type Group } from './report-groups.js';
import { REPORT_CSS } from './report-style.js';

function roundsOf(report: BenchReport): number {
  return report.options.rounds ?? 1;
}

function spreadCaption(report: BenchReport): string {
  const n = roundsOf(report);
  return n > 1 ? `median of ${n} rounds; whisker min–max, one dot per round` : 'one round (--rounds N draws the spread)';
}

function headlineRows(report: BenchReport): BarRow[] {
  const rows: BarRow[] = [];
  for (const r of report.results) {
    if (kindOf(r) !== 'phpasync' || r.status !== 'ok') continue;
    if (r.ratio !== undefined) {
      const sub = r.bound ? `of bound (${r.bound.limitedBy === 'cpu' ? `CPU: ${r.reference}` : r.bound.limitedBy})` : `vs ${r.reference}`;
      rows.push({ label: r.scenario, sub, kind: 'phpasync', value: r.ratio, text: fmtRatio(r.ratio), rounds: r.roundRatios, roundText: fmtRatio, scenario: r.scenario });
    }
    if (r.yardstickRatio !== undefined && r.yardstick !== undefined) {
      rows.push({ label: r.scenario, sub: `vs ${r.yardstick}`, kind: 'phpasync', value: r.yardstickRatio, text: fmtRatio(r.yardstickRatio), rounds: r.yardstickRoundRatios, roundText: fmtRatio, scenario: r.scenario });
    }
  }
  return rows;
}

function headline(report: BenchReport): string {
  const rows = headlineRows(report);
  if (rows.length === 0) return `<p class="empty">No ratio: no phpasync scenario ran next to its reference.</p>`;
  // Ratios multiply: on a log scale 0.5× and 2× sit as far from 1× as each other, and one
  // noisy round at 20× does not squash every other row against the left edge.
  const values = rows.flatMap((r) => [r.value ?? 1, ...(r.rounds ?? [])]).filter((v) => v > 0);
  const scale = logScale(Math.min(0.5, ...values), Math.max(2, ...values), (v) => `${Number(v.toPrecision(2))}×`);
  for (const r of rows) r.base = 1;
  return barChart(rows, {
    id: 'headline',
    className: 'bars headline',
    title: 'phpasync ÷ its references',
    caption: `higher is better; bars grow from 1× (log scale); ${spreadCaption(report)}`,
    unit: 'ratio',
    scale,
    markAt: 1,
  });
}

function throughputRows(g: Group): BarRow[] {
  const rows: BarRow[] = [];
  // Bounds come after the scenarios they bound.
  const bounds: BarRow[] = [];
  for (const r of g.members) {
    const rounds = r.rounds?.map((x) => x.reqPerSec);
    if (r.status !== 'ok') {
      rows.push({ label: r.scenario, kind: kindOf(r), text: r.status, scenario: r.scenario });
      continue;
    }
    rows.push({ label: r.scenario, kind: kindOf(r), value: r.reqPerSec ?? 0, text: `${fmtRps(r.reqPerSec)} req/s`, rounds, roundText: (v) => `${fmtRps(v)} req/s`, scenario: r.scenario });
    if (r.bound) {
      const why = r.bound.limitedBy === 'cpu' ? `CPU: ${r.reference}` : r.bound.limitedBy === 'latency' ? `c / latency` : 'threads / work';
      // Two scenarios of a group under the same bound (php and Fastify waiting alike) draw it once.
      if (bounds.some((x) => x.sub === why && x.value === r.bound!.reqPerSec)) continue;
      bounds.push({ label: 'bound', sub: why, kind: 'bound', value: r.bound.reqPerSec, text: `${fmtRps(r.bound.reqPerSec)} req/s` });
    }
  }
  return [...rows, ...bounds];
}

function throughputChart(g: Group, report: BenchReport): string {
  const rows = throughputRows(g);
  const max = Math.max(...rows.flatMap((r) => [r.value ?? 0, ...(r.rounds ?? [])]));
  return barChart(rows, {
    id: `${g.id}-throughput`,
    title: 'Throughput, 2xx req/s (higher is better)',
    caption: spreadCaption(report),
    unit: 'req/s',
    scale: linearScale(max, compact),
  });
}

/** Axis labels: 12k rather than 12,000, so five of them fit on a phone. */
function compact(v: number): string {
  if (v >= 1000) return `${Number((v / 1000).toFixed(1))}k`;
  return String(Number(v.toFixed(2)));
}

function msTick(v: number): string {
  return v >= 1000 ? `${Number((v / 1000).toFixed(2))} s` : `${Number(v.toPrecision(3))}`;
}

/** The recorded percentiles; a report written before they were kept has p50 and p99 only. */
function percentilesOf(r: ScenarioResult): Percentile[] {
  const m = r.measurement;
  if (r.status !== 'ok' || !m) return [];
  if (m.acceptedPercentilesMs?.length) return m.acceptedPercentilesMs;
  const out: Percentile[] = [];
  if (m.acceptedP50Ms !== undefined) out.push({ p: 50, ms: m.acceptedP50Ms });
  if (m.acceptedP99Ms !== undefined) out.push({ p: 99, ms: m.acceptedP99Ms });
  return out;
}

function latencyChart(g: Group): string {
  const rows: DistRow[] = g.members
    .filter((r) => percentilesOf(r).length > 0)
    .map((r) => {
      const ps = percentilesOf(r);
      const p99 = ps.find((x) => x.p === 99)?.ms;
      return { label: r.scenario, kind: kindOf(r), percentiles: ps, text: `p99 ${fmtMs(p99)}`, scenario: r.scenario };
    });
  if (rows.length === 0) return '';
  const drawn = rows.flatMap((r) => r.percentiles.filter((x) => x.p <= 99.9).map((x) => x.ms));
  return (
    distributionChart(rows, {
      id: `${g.id}-latency`,
      title: 'Latency of 2xx responses (lower is better)',
      caption: 'box p50–p90, line to p99.9, dot p99; all rounds pooled; log scale',
      unit: 'ms',
      scale: logScale(Math.min(...drawn), Math.max(...drawn), msTick),
    }) + percentileTable(g)
  );
}

function percentileTable(g: Group): string {
  const cols = [50, 90, 99, 99.9, 100];
  const head = cols.map((p) => `<th class="n">${p === 100 ? 'max' : `p${p}`}</th>`).join('');
  const rows = g.members
    .filter((r) => percentilesOf(r).length > 0)
    .map((r) => {
      const ps = percentilesOf(r);
      const cells = cols.map((p) => `<td class="n">${escapeHtml(fmtMs(ps.find((x) => x.p === p)?.ms))}</td>`).join('');
      return `<tr class="k-${kindOf(r)}"><td><i class="key"></i>${escapeHtml(r.scenario)}</td>${cells}</tr>`;
    });
  return `<div class="scroll"><table class="pct"><thead><tr><th>latency</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function overloadChart(g: Group, report: BenchReport): string {
  const rows: BarRow[] = g.members
    .filter((r) => r.status === 'ok' && r.overload)
    .map((r) => ({
      label: r.scenario,
      sub: `c=${r.measurement?.connections}`,
      kind: 'rejected',
      value: r.overload!.share503,
      text: `${fmtPct(r.overload!.share503)} 503`,
      rounds: r.rounds?.map((x) => x.share503 ?? 0),
      roundText: fmtPct,
      scenario: r.scenario,
    }));
  if (rows.length === 0) return '';
  const max = Math.max(...rows.flatMap((r) => [r.value ?? 0, ...(r.rounds ?? [])]));
  return barChart(rows, {
    id: `${g.id}-rejected`,
    title: 'Share of responses answered 503 (lower is better)',
    caption: spreadCaption(report),
    unit: '%',
    scale: linearScale(Math.max(max, 0.01), (v) => `${Number((v * 100).toFixed(1))}`),
  });
}

function section(g: Group, report: BenchReport): string {
  const about = g.members
    .map((r) => {
      // The charts draw the rounds' spread and the yardstick ratio; the rest still needs words.
      const drawn = (n: string): boolean => n === 'added as a reference' || /^\d+ rounds: /.test(n) || (r.yardstick !== undefined && n.endsWith(` ${r.yardstick}`));
      const ns = notes(r).filter((n) => !drawn(n));
      const extra = ns.length ? `<br><small class="${r.status === 'ok' ? '' : r.status}">${ns.map(escapeHtml).join('<br>')}</small>` : '';
      return `<li class="k-${kindOf(r)}"><i class="key"></i><b>${escapeHtml(r.scenario)}</b> ${escapeHtml(r.measures)}${extra}</li>`;
    })
    .join('');
  const measured = g.members.some((r) => r.status === 'ok');
  const charts = measured ? throughputChart(g, report) + latencyChart(g) + overloadChart(g, report) : '';
  return `<section class="group" id="${escapeHtml(g.id)}"><h2>${escapeHtml(g.title)}</h2><ul class="about">${about}</ul>${charts}</section>`;
}

function table(report: BenchReport): string {
  const rows = report.results.map((r) => {
    const m = r.measurement;
    const cells = [fmtRps(r.reqPerSec), fmtMs(m?.acceptedP50Ms), fmtMs(m?.acceptedP99Ms), fmtInt(m?.errors), fmtInt(m?.non2xx), ratioText(r, report)];
    return `<tr><td>${escapeHtml(r.scenario)}</td>${cells.map((c) => `<td class="n">${escapeHtml(c)}</td>`).join('')}<td class="notes">${escapeHtml(notes(r).join('; '))}</td></tr>`;
  });
  return `<div class="scroll"><table class="all"><thead><tr><th>scenario</th><th class="n">req/s</th><th class="n">p50</th><th class="n">p99</th><th class="n">errors</th><th class="n">non-2xx</th><th class="n">ratio</th><th>notes</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const LEGEND = `<p class="legend"><span class="k-phpasync"><i class="key"></i>phpasync</span> <span class="k-nginx-fpm"><i class="key"></i>nginx + php-fpm</span> <span class="k-fastify"><i class="key"></i>Fastify</span> <span class="k-bound"><i class="key"></i>bound</span></p>`;

export function formatHtml(report: BenchReport): string {
  const groups = groupResults(report);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>phpasync bench</title>
<style>${REPORT_CSS}</style></head><body>
<h1>phpasync bench</h1>
${headline(report)}
<p class="fine">Ratios compare figures measured in this same run; absolute figures on a shared machine are noisy.</p>
${LEGEND}
${groups.map((g) => section(g, report)).join('\n')}
<section class="group" id="all"><h2>All figures</h2>${table(report)}
<p class="fine"><code>$ ${escapeHtml(report.command)}</code><br>${escapeHtml(describeMachine(report))}</p></section>
</body></html>
`;
}
