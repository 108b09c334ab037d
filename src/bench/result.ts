// The report's data: what the JSON file holds and what the table and HTML are drawn from.

import type { Measurement } from './runner.js';
import type { ServerKind } from './scenarios.js';

/** What one round of a scenario measured (`--rounds`); the report draws their spread. */
export interface RoundFigures {
  /** 2xx per second. */
  reqPerSec: number;
  /** Responses of any status per second. */
  responsesPerSec: number;
  acceptedP50Ms?: number;
  acceptedP99Ms?: number;
  share503?: number;
}

export interface ScenarioResult {
  scenario: string;
  measures: string;
  status: 'ok' | 'skipped' | 'failed';
  /** The server it ran on; the report draws phpasync, nginx + php-fpm and Fastify apart. */
  server?: ServerKind;
  /** Why it was skipped or failed. */
  reason?: string;
  /** The scenario was not asked for but is the reference of one that was. */
  addedAsReference?: boolean;
  /** All rounds pooled: counts summed, percentiles over every latency of every round. */
  measurement?: Measurement;
  /** One entry per round, in the order they ran. */
  rounds?: RoundFigures[];
  /** The headline throughput: 2xx responses per second, the median round (rejections are counted apart). */
  reqPerSec?: number;
  reference?: string;
  /** Another server doing the same work, when that yardstick exists: nginx + php-fpm (what PHP
   * users compare with), or Fastify for a wait (what Node itself reaches). */
  yardstick?: string;
  /** reqPerSec / the reference's (or the bound's) req/s, from this same run. */
  ratio?: number;
  /** The ratio of each round against the same round of its reference (rounds alternate). */
  roundRatios?: number[];
  /** reqPerSec / the yardstick's req/s, and the same per round. */
  yardstickRatio?: number;
  yardstickRoundRatios?: number[];
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
  /** rounds is absent in reports written before `--rounds` existed (one round). */
  options: { durationS: number; warmupS: number; connections: number; rounds?: number };
  results: ScenarioResult[];
}
