// The text report: the command line, the machine, then one row per scenario.

import { describeMachine } from './machine.js';
import { fmtInt, fmtMs, fmtRps } from './format.js';
import { notes, ratioText } from './describe.js';
import type { BenchReport } from './result.js';

const HEADER = ['scenario', 'req/s', 'p50', 'p99', 'errors', 'non-2xx', 'ratio', 'notes'];
/** Numbers read best right-aligned. */
const RIGHT = new Set([1, 2, 3, 4, 5]);

export function formatTable(report: BenchReport): string {
  const rows = report.results.map((r) => {
    const m = r.measurement;
    return [r.scenario, fmtRps(r.reqPerSec), fmtMs(m?.acceptedP50Ms), fmtMs(m?.acceptedP99Ms), fmtInt(m?.errors), fmtInt(m?.non2xx), ratioText(r, report), notes(r).join('; ')];
  });
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : RIGHT.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    `$ ${report.command}`,
    describeMachine(report),
    '',
    line(HEADER),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}
