// Sums the engine counters the children report every 20 ms (in-flight requests, ring
// rejections, …) into one set for the whole server, for the supervisor's log lines at reload and
// shutdown. /metrics asks the children for their registries instead (metrics.ts).

export type Counters = Record<string, number>;

/** Key by key sum of every child's latest counters; keys missing in a child count 0. */
export function sumStats(children: Iterable<Counters>): Counters {
  const out: Counters = {};
  for (const c of children) for (const [k, v] of Object.entries(c)) if (typeof v === 'number') out[k] = (out[k] ?? 0) + v;
  return out;
}
