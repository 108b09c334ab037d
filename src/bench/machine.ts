// One line about where the figures come from: they only mean something next to each other.

import type { BenchReport } from './result.js';

export function describeMachine(r: BenchReport): string {
  const m = r.machine;
  return `${r.date} · node ${m.node} · ${m.platform} ${m.arch} · ${m.cpus} × ${m.cpuModel} · load ${m.loadAvg.join(' ')} · ${r.options.durationS} s per scenario after ${r.options.warmupS} s warm-up${(r.options.rounds ?? 1) > 1 ? `, ${r.options.rounds} rounds` : ''}, c=${r.options.connections} unless noted`;
}
