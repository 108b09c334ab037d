// `phpasync bench`: flag checks, the report model and formats, and one real short run.
// No assertion here depends on how fast anything is.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatHtml } from '../src/bench/html.js';
import { LatencyRecorder } from '../src/bench/latencies.js';
import { computeRatios } from '../src/bench/ratios.js';
import type { BenchReport, ScenarioResult } from '../src/bench/result.js';
import type { Measurement } from '../src/bench/runner.js';
import { plan, scenarioNames, SCENARIOS } from '../src/bench/scenarios.js';
import { ROOT } from '../src/bench/paths.js';
import { benchCaddyfile } from '../src/bench/servers/phpasync.js';
import { fpmConfig, nginxConfig } from '../src/bench/servers/nginx-fpm.js';
import { formatTable } from '../src/bench/table.js';
import { adaptCaddyfile } from '../src/caddyfile/index.js';
import { runCli, tempDir } from './helpers/server.js';

function measurement(over: Partial<Measurement> = {}): Measurement {
  return {
    durationS: 1, connections: 50, responses: 100, reqPerSec: 100, accepted: 100, acceptedPerSec: 100,
    acceptedP50Ms: 1, acceptedP99Ms: 2, p50Ms: 1, p99Ms: 2, errors: 0, timeouts: 0, non2xx: 0,
    statusCodes: { '200': 100 }, mismatches: 0, ...over,
  };
}

function ok(scenario: string, rps: number, over: Partial<Measurement> = {}): ScenarioResult {
  const s = SCENARIOS.find((x) => x.name === scenario)!;
  const r: ScenarioResult = { scenario, measures: s.measures, status: 'ok', reqPerSec: rps, measurement: measurement({ acceptedPerSec: rps, ...over }) };
  if (s.reference) r.reference = s.reference;
  return r;
}

function report(results: ScenarioResult[]): BenchReport {
  return {
    command: 'phpasync bench --duration 1',
    date: '2025-01-01T00:00:00.000Z',
    machine: { node: 'v20', platform: 'Linux', arch: 'x64', cpus: 2, cpuModel: 'cpu', loadAvg: [0, 0, 0] },
    options: { durationS: 1, warmupS: 1, connections: 50 },
    results,
  };
}

describe('bench: flags', () => {
  it('rejects an unknown scenario with exit 2 and the list of scenarios', async () => {
    const { code, out } = await runCli(['bench', '--scenario', 'php-helo']);
    expect(code).toBe(2);
    expect(out).toContain("unknown scenario 'php-helo'");
    for (const name of scenarioNames()) expect(out).toContain(name);
  });

  it.each([['0'], ['-1'], ['abc']])('rejects --duration %s with a clear message', async (d) => {
    const { code, out } = await runCli(['bench', '--duration', d]);
    expect(code).toBe(2);
    expect(out).toContain(`--duration must be a number of seconds greater than 0`);
    expect(out).toContain(`got '${d}'`);
  });

  it('rejects --connections that is not a positive whole number', async () => {
    const { code, out } = await runCli(['bench', '--connections', '0']);
    expect(code).toBe(2);
    expect(out).toContain('--connections must be a whole number greater than 0');
  });

  // The standalone scripts share bench/measure.ts's flags() and positive(): bad input exits 2
  // with the script's usage line before any server starts.
  it.each([
    ['hello.js', ['--rounds', '0'], ''],
    ['hello.js', ['--duration', 'abc'], ''],
    ['jit-loop.js', ['--rounds', '-1'], "Option '--rounds' argument is ambiguous"],
    ['jit-loop.js', ['--connections', '0'], ''],
    ['mib.js', ['--bogus'], "Unknown option '--bogus'"],
    ['async.js', ['--c', 'x'], ''],
  ])('standalone %s refuses %j with exit 2 and its usage line', (script, args, why) => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/bench', script), ...args], { encoding: 'utf8' });
    expect(r.status, `signal ${r.signal}, error ${r.error}, stderr:\n${r.stderr}`).toBe(2);
    expect(r.stderr).toContain(`usage: node dist/bench/${script} [--`);
    expect(r.stderr).toContain(why);
    expect(r.stderr).not.toContain('    at '); // a message, not a stack trace
  });

  it('lists the scenarios in --help', async () => {
    const { code, out } = await runCli(['bench', '--help']);
    expect(code).toBe(0);
    for (const name of scenarioNames()) expect(out).toContain(name);
  });
});

describe('bench: plan and ratios', () => {
  it('adds the references of the chosen scenarios, in canonical order', () => {
    expect(plan(['php-1mib']).map((s) => s.name)).toEqual(['fastify-1mib', 'php-1mib']);
    expect(plan(['php-delay-10ms']).map((s) => s.name)).toEqual(['fastify-hello', 'php-hello', 'php-delay-10ms']);
    expect(plan([]).map((s) => s.name)).toEqual(scenarioNames());
  });

  it('takes each ratio against a figure of the same run, and bounds by Little\'s law and by CPU', () => {
    const results = [ok('fastify-hello', 1000), ok('php-hello', 500), ok('php-delay-10ms', 400, { connections: 200 }), ok('overload', 300, { connections: 100 })];
    computeRatios(results, SCENARIOS);
    expect(results[0]!.ratio).toBeUndefined();
    expect(results[1]!.ratio).toBe(0.5);
    // c/latency = 200 / 10 ms = 20,000 req/s, but php-hello did only 500: the CPU bounds it.
    expect(results[2]!.bound).toMatchObject({ reqPerSec: 500, ownBoundReqPerSec: 20_000, limitedBy: 'cpu' });
    expect(results[2]!.ratio).toBe(0.8);
    // One thread, 1 ms of work: 1,000 req/s at most; php-hello's 500 is lower still.
    expect(results[3]!.bound).toMatchObject({ reqPerSec: 500, ownBoundReqPerSec: 1000, limitedBy: 'cpu' });
  });

  it('takes php-delay-10ms against Fastify doing the same wait, each against its own bound', () => {
    const c = { connections: 200 };
    const results = [ok('fastify-hello', 30_000), ok('fastify-delay-10ms', 17_000, c), ok('php-hello', 25_000), ok('php-delay-10ms', 15_300, c)];
    computeRatios(results, SCENARIOS);
    expect(results[1]!.bound).toMatchObject({ reqPerSec: 20_000, limitedBy: 'latency' });
    expect(results[1]!.ratio).toBeCloseTo(0.85);
    expect(results[3]!.ratio).toBeCloseTo(0.765);
    expect(results[3]).toMatchObject({ yardstick: 'fastify-delay-10ms' });
    expect(results[3]!.yardstickRatio).toBeCloseTo(0.9);
  });

  it('gives no ratio when the reference did not run', () => {
    const ref: ScenarioResult = { scenario: 'fastify-hello', measures: '', status: 'failed', reason: 'boom' };
    const results = [ref, ok('php-hello', 500)];
    computeRatios(results, SCENARIOS);
    expect(results[1]!.ratio).toBeUndefined();
  });

  it('takes percentiles by nearest rank', () => {
    const rec = new LatencyRecorder();
    expect(rec.percentiles(50)).toEqual([undefined]);
    for (let i = 100; i >= 1; i--) rec.add(i);
    expect(rec.percentiles(50, 99, 100)).toEqual([50, 99, 100]);
  });
});

describe('bench: report formats', () => {
  const results = [
    ok('fastify-hello', 1000),
    ok('php-hello', 500, { non2xx: 10, responses: 110, statusCodes: { '200': 100, '503': 10 }, mismatches: 10 }),
    { scenario: 'php-delay-10ms', measures: 'd', status: 'skipped', reason: 'Async\\delay not available (issue #5)' } as ScenarioResult,
  ];
  computeRatios(results, SCENARIOS);

  it('prints the command line first, then one row per scenario', () => {
    const text = formatTable(report(results));
    expect(text.split('\n')[0]).toBe('$ phpasync bench --duration 1');
    expect(text).toMatch(/php-hello .* 0\.50× fastify-hello/);
    expect(text).toContain('skipped: Async\\delay not available (issue #5)');
    expect(text).toContain('9.1% answered 503');
    expect(text).not.toContain('wrong body'); // the 503 bodies are not wrong 2xx bodies
  });

  it('writes self-contained HTML: the ratios first, then one chart group per reference (test/bench-html.test.ts has the rest)', () => {
    const html = formatHtml(report(results));
    expect(html).toContain('<code>$ phpasync bench --duration 1</code>');
    expect(html.indexOf('id="headline"')).toBeLessThan(html.indexOf('<section'));
    // fastify-hello and php-hello share one group; the skipped delay scenario is its own.
    expect(html.match(/<section class="group"/g)).toHaveLength(3);
    expect(html.match(/data-scenario="fastify-hello"/g)).toHaveLength(2); // throughput and latency, once each
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html).toContain('Async\\delay not available');
  });
});

describe('bench: generated server configs', () => {
  it('writes a Caddyfile that adapts to one async worker on an ephemeral port', () => {
    const { config } = adaptCaddyfile(benchCaddyfile('/srv/bench app.php'), '/tmp/Caddyfile', { env: {} });
    expect(JSON.stringify(config)).toContain('/srv/bench app.php');
  });

  it('keeps nginx and php-fpm inside the temp dir and on loopback', () => {
    const n = nginxConfig('/tmp/x', 8123);
    expect(n).toContain('listen 127.0.0.1:8123;');
    expect(n).toContain('fastcgi_pass unix:/tmp/x/php-fpm.sock;');
    expect(n).toContain('daemon off;');
    expect(fpmConfig('/tmp/x')).toContain('listen = /tmp/x/php-fpm.sock');
  });
});

describe('bench: a real run', () => {
  it('measures php-hello (and its reference) and writes the JSON report', async () => {
    const file = path.join(tempDir(), 'bench.json');
    const { code, out } = await runCli(['bench', '--duration', '1', '--scenario', 'php-hello', '--json', file]);
    expect(code, out).toBe(0);
    expect(out).toContain('$ phpasync bench --duration 1 --scenario php-hello --json');
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport;
    expect(r.command).toMatch(/^phpasync bench --duration 1 /);
    expect(r.options).toMatchObject({ durationS: 1, connections: 50 });
    expect(r.results.map((x) => x.scenario)).toEqual(['fastify-hello', 'php-hello']);
    const [ref, php] = r.results as [ScenarioResult, ScenarioResult];
    expect(ref).toMatchObject({ status: 'ok', addedAsReference: true });
    expect(php).toMatchObject({ status: 'ok', reference: 'fastify-hello' });
    for (const x of [ref, php]) {
      const m = x.measurement!;
      expect(m.responses).toBeGreaterThan(0);
      expect(m.accepted).toBeGreaterThan(0);
      expect(m.errors).toBe(0);
      expect(m.mismatches - m.non2xx).toBeLessThanOrEqual(0); // every 2xx said "hello world"
      expect(x.reqPerSec).toBeGreaterThan(0);
      expect(m.acceptedP99Ms).toBeGreaterThanOrEqual(m.acceptedP50Ms!);
    }
    expect(php.ratio).toBeGreaterThan(0);
  });

  it('measures Fastify awaiting a 10 ms timer at c=200 against the Little\'s-law bound', async () => {
    const file = path.join(tempDir(), 'bench.json');
    const { code, out } = await runCli(['bench', '--duration', '1', '--scenario', 'fastify-delay-10ms', '--json', file]);
    expect(code, out).toBe(0);
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport;
    expect(r.results.map((x) => x.scenario)).toEqual(['fastify-hello', 'fastify-delay-10ms']);
    const d = r.results[1]!;
    expect(d).toMatchObject({ status: 'ok', server: 'fastify' });
    expect(d.measurement).toMatchObject({ connections: 200, errors: 0 });
    expect(d.measurement!.mismatches).toBe(0); // every response said "hello world"
    // 200 clients each waiting 10 ms: far more than one request per 10 ms, so the waits overlapped.
    expect(d.reqPerSec).toBeGreaterThan(1000);
    expect(d.bound?.ownBoundReqPerSec).toBe(20_000);
  });
});
