// The HTML report's charts: rows of label | plot | value, drawn with positioned elements and
// inline CSS (no script, no external asset) so they reflow from a wide screen to a phone.
// Every chart has one scale and draws its axis once; bars, whiskers and dots are placed in %
// of that scale.

import type { Percentile } from './latencies.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface Scale {
  /** Where a value sits along the plot, 0..100 (%). */
  pos(v: number): number;
  ticks: number[];
  tickText(v: number): string;
}

/** 1, 2 or 5 × 10^k: the step that cuts `span` into about `parts` pieces. */
function niceStep(span: number, parts: number): number {
  const raw = span / parts;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** From 0 to the first tick at or above `max`: every bar of the chart measured on it. */
export function linearScale(max: number, tickText: (v: number) => string, parts = 5): Scale {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const step = niceStep(top, parts);
  const n = Math.max(1, Math.ceil(top / step - 1e-9));
  const end = n * step;
  const ticks = Array.from({ length: n + 1 }, (_, i) => i * step);
  return { pos: (v) => Math.max(0, Math.min(100, (v / end) * 100)), ticks, tickText };
}

/** Decades with 1-2-5 ticks between them: latencies from 0.1 ms to seconds on one axis. */
export function logScale(min: number, max: number, tickText: (v: number) => string): Scale {
  const lo0 = Math.pow(10, Math.floor(Math.log10(Math.max(min, 1e-3))));
  const hi0 = Math.max(max, lo0 * 2);
  const all: number[] = [];
  for (let d = lo0; d <= hi0 * 10; d *= 10) for (const m of [1, 2, 5]) all.push(Number((d * m).toPrecision(3)));
  const lo = all.filter((t) => t <= Math.max(min, lo0)).pop() ?? lo0;
  const hi = all.find((t) => t >= hi0) ?? hi0;
  let ticks = all.filter((t) => t >= lo && t <= hi);
  // Many decades: the ends and the powers of ten between them, none so close that labels collide.
  if (ticks.length > 9) {
    const far = (t: number): boolean => Math.abs(Math.log10(t / lo)) >= 0.35 && Math.abs(Math.log10(hi / t)) >= 0.35;
    const decades = ticks.filter((t) => Number.isInteger(Math.round(Math.log10(t) * 1e6) / 1e6) && far(t));
    ticks = [lo, ...decades, hi];
  }
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return {
    pos: (v) => Math.max(0, Math.min(100, ((Math.log10(Math.max(v, lo)) - a) / (b - a)) * 100)),
    ticks,
    tickText,
  };
}

/** Colour key of a row: which server drew it (phpasync, nginx + php-fpm, Fastify) or a bound. */
export type RowKind = 'phpasync' | 'nginx-fpm' | 'fastify' | 'bound' | 'rejected';

export interface BarRow {
  label: string;
  /** A second, smaller line under the label ("vs fastify-hello"). */
  sub?: string;
  kind: RowKind;
  /** The bar's length; undefined draws no bar (skipped, failed). */
  value?: number;
  /** Where the bar starts (default 0): a ratio's bar grows from 1× to the left or the right. */
  base?: number;
  /** Printed in the value column. */
  text: string;
  /** One value per round: a dot each, and a min–max whisker when there are two or more. */
  rounds?: number[];
  roundText?: (v: number) => string;
  scenario?: string;
}

export interface DistRow {
  label: string;
  kind: RowKind;
  percentiles: Percentile[];
  text: string;
  scenario?: string;
}

const pct = (x: number): string => `${x.toFixed(2)}%`;

function gridLines(scale: Scale): string {
  return scale.ticks.map((t) => `<i class="grid" style="left:${pct(scale.pos(t))}"></i>`).join('');
}

function axisRow(scale: Scale, unit: string): string {
  const ticks = scale.ticks
    .map((t, i) => {
      const edge = i === 0 ? ' first' : i === scale.ticks.length - 1 ? ' last' : '';
      return `<span class="tick${edge}" style="left:${pct(scale.pos(t))}">${escapeHtml(scale.tickText(t))}</span>`;
    })
    .join('');
  return `<div class="row axis"><span class="lab"></span><span class="plot">${ticks}</span><span class="val unit">${escapeHtml(unit)}</span></div>`;
}

function labelCell(label: string, sub: string | undefined): string {
  return `<span class="lab">${escapeHtml(label)}${sub ? ` <small>${escapeHtml(sub)}</small>` : ''}</span>`;
}

function rowAttrs(kind: RowKind, scenario: string | undefined): string {
  return `class="row k-${kind}"${scenario ? ` data-scenario="${escapeHtml(scenario)}"` : ''}`;
}

function barRow(row: BarRow, scale: Scale, marks: string): string {
  let plot = gridLines(scale) + marks;
  if (row.value !== undefined && row.base === undefined) plot += `<i class="bar" style="width:${pct(scale.pos(row.value))}"></i>`;
  if (row.value !== undefined && row.base !== undefined) {
    const a = scale.pos(row.base);
    const b = scale.pos(row.value);
    plot += `<i class="bar from ${b < a ? 'below' : 'above'}" style="left:${pct(Math.min(a, b))};width:${pct(Math.max(0.3, Math.abs(b - a)))}"></i>`;
  }
  const rounds = row.rounds ?? [];
  if (rounds.length >= 2) {
    const lo = scale.pos(Math.min(...rounds));
    const hi = scale.pos(Math.max(...rounds));
    plot += `<i class="whisker" style="left:${pct(lo)};width:${pct(hi - lo)}"></i>`;
  }
  const fmt = row.roundText ?? String;
  plot += rounds.map((v, i) => `<i class="round" style="left:${pct(scale.pos(v))}" title="round ${i + 1}: ${escapeHtml(fmt(v))}"></i>`).join('');
  return `<div ${rowAttrs(row.kind, row.scenario)}>${labelCell(row.label, row.sub)}<span class="plot">${plot}</span><span class="val">${escapeHtml(row.text)}</span></div>`;
}

export interface BarChartOptions {
  id: string;
  title: string;
  caption?: string;
  unit: string;
  scale: Scale;
  /** A value to mark with a line across every row (1× on the ratio chart). */
  markAt?: number;
  className?: string;
}

export function barChart(rows: readonly BarRow[], o: BarChartOptions): string {
  const marks = o.markAt !== undefined ? `<i class="mark" style="left:${pct(o.scale.pos(o.markAt))}"></i>` : '';
  const body = rows.map((r) => barRow(r, o.scale, marks)).join('');
  return figure(o.id, o.className ?? 'bars', o.title, o.caption, body + axisRow(o.scale, o.unit));
}

function figure(id: string, className: string, title: string, caption: string | undefined, body: string): string {
  const cap = `<figcaption><b>${escapeHtml(title)}</b>${caption ? ` <span>${escapeHtml(caption)}</span>` : ''}</figcaption>`;
  return `<figure class="chart ${className}" id="${escapeHtml(id)}">${cap}${body}</figure>`;
}

const at = (ps: readonly Percentile[], p: number): number | undefined => ps.find((x) => x.p === p)?.ms;

/** Latency percentiles, one row per scenario: a box from p50 to p90, a line on to p99.9, a dot at p99. */
export function distributionChart(rows: readonly DistRow[], o: Omit<BarChartOptions, 'markAt'>): string {
  const body = rows
    .map((r) => {
      let plot = gridLines(o.scale);
      const p50 = at(r.percentiles, 50);
      const p90 = at(r.percentiles, 90);
      const p99 = at(r.percentiles, 99);
      const p999 = at(r.percentiles, 99.9) ?? p99;
      if (p50 !== undefined && p999 !== undefined) {
        const a = o.scale.pos(p50);
        plot += `<i class="tail" style="left:${pct(a)};width:${pct(o.scale.pos(p999) - a)}"></i>`;
      }
      if (p50 !== undefined && p90 !== undefined) {
        const a = o.scale.pos(p50);
        plot += `<i class="box" style="left:${pct(a)};width:${pct(Math.max(0.4, o.scale.pos(p90) - a))}"></i>`;
      }
      if (p99 !== undefined) plot += `<i class="p99" style="left:${pct(o.scale.pos(p99))}"></i>`;
      if (p999 !== undefined) plot += `<i class="p999" style="left:${pct(o.scale.pos(p999))}"></i>`;
      return `<div ${rowAttrs(r.kind, r.scenario)}>${labelCell(r.label, undefined)}<span class="plot">${plot}</span><span class="val">${escapeHtml(r.text)}</span></div>`;
    })
    .join('');
  return figure(o.id, o.className ?? 'dist', o.title, o.caption, body + axisRow(o.scale, o.unit));
}
