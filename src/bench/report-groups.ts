// Which scenarios the HTML report draws together. A group is a reference and everything
// measured against it (php-hello, php-json, nginx-fpm-hello with fastify-hello), so the group
// shares one scale and a reference is drawn once, never in a card of its own. A scenario with
// a bound (Little's law, threads / work) is a group of its own: its scale is the bound's.
// phpasync comes first, with nginx + php-fpm right after the phpasync scenario it is the
// yardstick or reference of: the comparison PHP users look for.

import type { BenchReport, ScenarioResult } from './result.js';
import type { RowKind } from './report-chart.js';

export interface Group {
  /** Anchor and scale id. */
  id: string;
  title: string;
  members: ScenarioResult[];
}

/** The server behind a result; reports written before `server` was recorded go by the name. */
export function kindOf(r: ScenarioResult): RowKind {
  const server = r.server ?? (r.scenario.startsWith('nginx-fpm') ? 'nginx-fpm' : r.scenario.startsWith('fastify') ? 'fastify' : 'phpasync');
  return server.startsWith('nginx-fpm') ? 'nginx-fpm' : server === 'fastify' ? 'fastify' : 'phpasync';
}

function rootOf(r: ScenarioResult, byName: Map<string, ScenarioResult>): string {
  let cur = r;
  const seen = new Set<string>();
  while (cur.reference !== undefined && !seen.has(cur.scenario)) {
    seen.add(cur.scenario);
    const next = byName.get(cur.reference);
    if (!next || next.bound) break;
    cur = next;
  }
  return cur.scenario;
}

function order(members: ScenarioResult[]): ScenarioResult[] {
  const out: ScenarioResult[] = [];
  const take = (r: ScenarioResult | undefined): void => {
    if (r && !out.includes(r)) out.push(r);
  };
  const php = members.filter((r) => kindOf(r) === 'phpasync');
  const fpm = members.filter((r) => kindOf(r) === 'nginx-fpm');
  for (const p of php) {
    take(p);
    const named = [p.yardstick ?? yardstickByName(p, fpm), p.reference];
    for (const n of named) take(fpm.find((f) => f.scenario === n));
  }
  for (const r of fpm) take(r);
  for (const r of members) take(r);
  return out;
}

/** `yardstick` is only written once the yardstick ran; a skipped one is found by its name. */
function yardstickByName(p: ScenarioResult, fpm: ScenarioResult[]): string | undefined {
  const suffix = p.scenario.replace(/^php-/, '');
  return fpm.find((f) => f.scenario === `nginx-fpm-${suffix}`)?.scenario;
}

export function groupResults(report: BenchReport): Group[] {
  const byName = new Map(report.results.map((r) => [r.scenario, r]));
  const groups = new Map<string, ScenarioResult[]>();
  for (const r of report.results) {
    const key = r.bound ? r.scenario : rootOf(r, byName);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  // A bound scenario's yardstick under the same kind of bound (fastify-delay-10ms for
  // php-delay-10ms) is drawn beside it, on the bound's scale.
  for (const r of report.results) {
    const yard = r.bound && r.yardstick !== undefined ? byName.get(r.yardstick) : undefined;
    if (!yard?.bound || !groups.has(yard.scenario) || yard.scenario === r.scenario) continue;
    groups.set(r.scenario, [...(groups.get(r.scenario) ?? []), ...groups.get(yard.scenario)!]);
    groups.delete(yard.scenario);
  }
  // A yardstick measured against another root (nginx-fpm-hello against fastify-hello) already
  // shares php-hello's root; one measured alone joins the group of the scenario naming it.
  for (const r of report.results) {
    if (r.yardstick === undefined || r.bound) continue;
    const home = rootOf(r, byName);
    const yard = byName.get(r.yardstick);
    if (!yard) continue;
    const yardKey = rootOf(yard, byName);
    if (yardKey === home) continue;
    const moved = groups.get(yardKey) ?? [];
    groups.delete(yardKey);
    groups.set(home, [...(groups.get(home) ?? []), ...moved]);
  }
  return [...groups.entries()].map(([key, members]) => {
    const ordered = order(members);
    const php = ordered.filter((r) => kindOf(r) === 'phpasync').map((r) => r.scenario);
    return { id: `group-${key}`, title: (php.length ? php : ordered.map((r) => r.scenario)).join(' · '), members: ordered };
  });
}
