// The report's data: what the JSON file holds and what the table and HTML are drawn from.

import type { Measurement } from './runner.js';

export interface ScenarioResult {
  scenario: string;
  measures: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  reason?: string;
  /** The scenario was not asked for but is the reference of one that was. */
  addedAsReference?: boolean;
  measurement?: Measurement;
  /** The headline throughput: 2xx responses per second (rejections are counted apart). */
  reqPerSec?: number;
  reference?: string;
  /** reqPerSec / the reference's (or the bound's) req/s, from this same run. */
  ratio?: number;
  /** The ceiling: Little's law for scenarios that wait, threads / work for those that burn CPU. */
  bound?: { reqPerSec: number; ownBoundReqPerSec: number; cpuBoundReqPerSec?: number; limitedBy: 'latency' | 'work' | 'cpu' };
  /** Overload figures: share of 503s among responses and the latency of the accepted. */
  overload?: { share503: number; acceptedP99Ms?: number; acceptedP50Ms?: number; responsesPerSec: number };
}

export interface BenchReport {
  /** The command line that produced the report. */
  command: string;
  date: string;
  machine: { node: string; platform: string; arch: string; cpus: number; cpuModel: string; loadAvg: number[] };
  options: { durationS: number; warmupS: number; connections: number };
  results: ScenarioResult[];
}
