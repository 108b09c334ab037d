// Runs the planned scenarios one after the other: start the scenario's server in a child
// process, warm it up, measure, stop it. A scenario that cannot run says why; it never
// reports a figure it did not measure.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PhpasyncError } from '../server/errors.js';
import { LatencyHistogram } from './latencies.js';
import { createProgress, type Progress } from './progress.js';
import { computeRatios } from './ratios.js';
import type { BenchReport, ScenarioResult } from './result.js';
import { median, poolRounds, roundFigures } from './rounds.js';
import { load, type Measurement } from './runner.js';
import type { Scenario } from './scenarios.js';
import type { ServerHandle } from './servers/child.js';
import { startFastify } from './servers/fastify.js';
import { startDbServer } from './servers/db.js';
import { startFrontServer } from './servers/front.js';
import { findNginxFpm, startNginxFpm } from './servers/nginx-fpm.js';
import { startPhpasync } from './servers/phpasync.js';
import { startPhpasyncScripts } from './servers/phpasync-scripts.js';
import { LOOP_HELLO } from './paths.js';

export interface EngineOptions {
  command: string;
  scenarios: Scenario[];
  /** Names the user asked for; the others in `scenarios` were added as references. */
  requested: ReadonlySet<string>;
  durationS: number;
  connections: number;
  /** Measurements per scenario, alternating between scenarios (default 1). */
  rounds?: number;
}

/** Long enough for opcache, JIT and V8 to settle; short runs stay short. */
export function warmupSeconds(durationS: number): number {
  return Math.min(1, durationS);
}

/** A scenario that cannot run here: reported as skipped, with the reason. */
class Skip extends PhpasyncError {
  constructor(reason: string) {
    super('PHPASYNC_BENCH_SKIPPED', [reason]);
  }
}

async function startServer(s: Scenario, dir: string): Promise<ServerHandle> {
  switch (s.server) {
    case 'fastify':
      return startFastify();
    case 'phpasync':
      return startPhpasync(dir);
    case 'phpasync-classic':
      return startPhpasync(dir, { worker: LOOP_HELLO, classic: true });
    case 'phpasync-scripts':
      return startPhpasyncScripts(dir);
    case 'phpasync-mixed':
      return startPhpasyncScripts(dir, true);
    case 'nginx-fpm': {
      const bin = findNginxFpm();
      if (typeof bin === 'string') throw new Skip(bin);
      return startNginxFpm(bin, dir);
    }
    case 'phpasync-db':
    case 'nginx-fpm-db': {
      const started = await startDbServer(s.server, dir);
      if (typeof started === 'string') throw new Skip(started);
      return started;
    }
    case 'phpasync-static':
    case 'nginx-static':
    case 'phpasync-gzip':
    case 'fastify-gzip': {
      const started = await startFrontServer(s.server, dir);
      if (typeof started === 'string') throw new Skip(started);
      return started;
    }
  }
}

/** A scenario that needs Async\delay asks the worker itself whether the function exists. */
async function probe(s: Scenario, url: string): Promise<void> {
  if (!s.needsAsyncDelay) return;
  const req = s.request();
  const res = await fetch(url + req.path);
  const body = await res.text();
  if (res.status === 501) throw new Skip('Async\\delay not available (issue #5)');
  if (res.status !== 200) throw new PhpasyncError('PHPASYNC_BENCH_PROBE', [req.path, res.status, body.slice(0, 200)]);
}

function summary(m: Measurement): string {
  const rejected = m.non2xx > 0 ? `, ${m.non2xx.toLocaleString('en-US')} non-2xx` : '';
  return `${Math.round(m.acceptedPerSec).toLocaleString('en-US')} req/s${rejected}`;
}

/** Starts the scenario's server, warms it up, measures one round into `pool`, stops it. */
async function measureRound(s: Scenario, dir: string, opts: EngineOptions, warmupS: number, progress: Progress, pool: Pool): Promise<Measurement> {
  let server: ServerHandle | undefined;
  try {
    server = await startServer(s, dir);
    await probe(s, server.url);
    const request = s.request();
    const connections = s.connections ?? opts.connections;
    if (warmupS > 0) await load({ url: server.url, request, connections, durationS: warmupS, onProgress: (t) => progress.update(t) });
    return await load({ url: server.url, request, connections, durationS: opts.durationS, onProgress: (t) => progress.update(warmupS + t), pool });
  } finally {
    await server?.stop();
  }
}

type Pool = { all: LatencyHistogram; accepted: LatencyHistogram };

export async function runBench(opts: EngineOptions): Promise<BenchReport> {
  const warmupS = warmupSeconds(opts.durationS);
  const roundsN = opts.rounds ?? 1;
  const progress = createProgress(opts.scenarios.length * roundsN, warmupS + opts.durationS);
  const results: ScenarioResult[] = opts.scenarios.map((s) => {
    const result: ScenarioResult = { scenario: s.name, measures: s.measures, status: 'ok', server: s.server };
    if (!opts.requested.has(s.name)) result.addedAsReference = true;
    if (s.reference !== undefined) result.reference = s.reference;
    return result;
  });
  const rounds: Measurement[][] = opts.scenarios.map(() => []);
  const pools: Pool[] = opts.scenarios.map(() => ({ all: new LatencyHistogram(), accepted: new LatencyHistogram() }));
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
  try {
    // Rounds alternate between scenarios: a busy moment of the machine hits every scenario once.
    for (let round = 0; round < roundsN; round++) {
      for (const [i, s] of opts.scenarios.entries()) {
        const result = results[i]!;
        if (result.status !== 'ok') continue; // a skip or failure does not get better by retrying
        const step = round * opts.scenarios.length + i;
        const label = roundsN > 1 ? `${s.name} (round ${round + 1}/${roundsN})` : s.name;
        progress.begin(label, step);
        const dir = fs.mkdtempSync(path.join(base, `${s.name}-`));
        try {
          const m = await measureRound(s, dir, opts, warmupS, progress, pools[i]!);
          rounds[i]!.push(m);
          progress.end(label, step, summary(m));
        } catch (err) {
          result.status = err instanceof Skip ? 'skipped' : 'failed';
          result.reason = (err as Error).message;
          progress.end(label, step, `${result.status}: ${firstLine(result.reason)}`);
        }
      }
    }
  } finally {
    progress.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
  for (const [i, s] of opts.scenarios.entries()) {
    const result = results[i]!;
    const ms = rounds[i]!;
    if (result.status !== 'ok' || ms.length === 0) continue;
    const m = poolRounds(ms, pools[i]!.all, pools[i]!.accepted);
    result.measurement = m;
    result.rounds = ms.map(roundFigures);
    // A 503 answered in microseconds is not a served request: only 2xx count as throughput.
    result.reqPerSec = median(ms.map((x) => x.acceptedPerSec));
    if (s.overload) {
      result.overload = {
        share503: m.responses > 0 ? (m.statusCodes['503'] ?? 0) / m.responses : 0,
        acceptedP50Ms: m.acceptedP50Ms,
        acceptedP99Ms: m.acceptedP99Ms,
        responsesPerSec: median(ms.map((x) => x.reqPerSec)),
      };
    }
  }
  computeRatios(results, opts.scenarios);
  const cpus = os.cpus();
  return {
    command: opts.command,
    date: new Date().toISOString(),
    machine: {
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
      arch: process.arch,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    options: { durationS: opts.durationS, warmupS, connections: opts.connections, rounds: roundsN },
    results,
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
