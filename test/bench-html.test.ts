// `phpasync bench --html`: the page drawn from a saved two-round result (test/fixtures/
// bench-result.json: php-hello, nginx-fpm-hello, php-delay-10ms, overload, php-db and their
// references), read for its structure: ratios first, one scale per group with an axis,
// nginx + php-fpm next to phpasync, a dot per round, latency percentiles, no external asset,
// figures that do not wrap. Then one real two-round run through the CLI.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fmtMs, fmtRatio } from '../src/bench/format.js';
import { formatHtml } from '../src/bench/html.js';
import { LatencyHistogram, LatencyRecorder } from '../src/bench/latencies.js';
import { computeRatios } from '../src/bench/ratios.js';
import type { BenchReport, ScenarioResult } from '../src/bench/result.js';
import { median, poolRounds } from '../src/bench/rounds.js';
import type { Measurement } from '../src/bench/runner.js';
import { SCENARIOS } from '../src/bench/scenarios.js';
import { ROOT, runCli, tempDir } from './helpers/server.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/bench-result.json');
const load = (): BenchReport => JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as BenchReport;
const saved = load();
const html = formatHtml(saved);
const byName = new Map(saved.results.map((r) => [r.scenario, r]));
const ROUNDS = saved.options.rounds!;

/** The page's figures, each with its id and its rows (data-scenario, class, inner html). */
interface Fig {
  id: string;
  html: string;
  rows: { scenario?: string; cls: string; html: string }[];
}

function figures(page: string): Fig[] {
  return [...page.matchAll(/<figure class="chart[^"]*" id="([^"]+)">([\s\S]*?)<\/figure>/g)].map((m) => ({
    id: m[1]!,
    html: m[2]!,
    rows: [...m[2]!.matchAll(/<div class="row ([^"]+)"(?: data-scenario="([^"]+)")?>([\s\S]*?)<\/div>/g)].map((r) => ({ cls: r[1]!, scenario: r[2], html: r[3]! })),
  }));
}

const figs = figures(html);
const dataRows = (f: Fig) => f.rows.filter((r) => r.cls !== 'axis');
const throughput = figs.filter((f) => f.id.endsWith('-throughput'));

describe('bench --html: the page from a saved result', () => {
  it('the fixture is a two-round run with nginx + php-fpm and a database', () => {
    expect(ROUNDS).toBe(2);
    for (const name of ['fastify-hello', 'php-hello', 'nginx-fpm-hello', 'php-delay-10ms', 'overload', 'nginx-fpm-db', 'php-db']) {
      expect(byName.get(name)?.status, name).toBe('ok');
      expect(byName.get(name)?.rounds, name).toHaveLength(ROUNDS);
    }
  });

  it('opens with the chart of ratios, before any section or table', () => {
    const body = html.slice(html.indexOf('<body>'));
    const first = body.indexOf('<figure');
    expect(body.slice(first)).toMatch(/^<figure class="chart bars headline" id="headline">/);
    expect(first).toBeLessThan(body.indexOf('<section'));
    expect(first).toBeLessThan(body.indexOf('<table'));
    expect(figs[0]!.id).toBe('headline');
  });

  it('draws one headline row per phpasync ratio, including the ratio to nginx + php-fpm, and none for a reference', () => {
    const rows = dataRows(figs[0]!);
    const seen = rows.map((r) => `${r.scenario} ${/<small>([^<]*)<\/small>/.exec(r.html)?.[1]}`);
    expect(seen).toEqual([
      'php-hello vs fastify-hello',
      'php-hello vs nginx-fpm-hello',
      'php-delay-10ms of bound (latency)',
      'overload of bound (work)',
      'php-db vs nginx-fpm-db',
    ]);
    const hello = byName.get('php-hello')!;
    expect(rows[0]!.html).toContain(`<span class="val">${fmtRatio(hello.ratio!)}</span>`);
    expect(rows[1]!.html).toContain(`<span class="val">${fmtRatio(hello.yardstickRatio!)}</span>`);
    // Bars grow from the 1× line, left for a ratio below 1, right above.
    const one = Number(/<i class="mark" style="left:([\d.]+)%"/.exec(figs[0]!.html)![1]);
    for (const r of rows) {
      const [, side, left, width] = /<i class="bar from (below|above)" style="left:([\d.]+)%;width:([\d.]+)%"/.exec(r.html)!;
      const ratio = Number(/<span class="val">([\d.]+)×/.exec(r.html)![1]);
      expect(side).toBe(ratio < 1 ? 'below' : 'above');
      expect(side === 'below' ? Number(left) + Number(width) : Number(left)).toBeCloseTo(one, 1);
    }
  });

  it('gives every chart exactly one axis, with ticks from its scale', () => {
    expect(figs.length).toBeGreaterThan(5);
    for (const f of figs) {
      const axes = f.rows.filter((r) => r.cls === 'axis');
      expect(axes, f.id).toHaveLength(1);
      const ticks = [...axes[0]!.html.matchAll(/<span class="tick[^"]*" style="left:([\d.]+)%">([^<]+)<\/span>/g)];
      expect(ticks.length, f.id).toBeGreaterThanOrEqual(3);
      expect(Number(ticks[0]![1])).toBe(0);
      expect(Number(ticks.at(-1)![1])).toBe(100);
    }
    // Throughput axes start at 0: a bar's length is its value.
    for (const f of throughput) expect(/<span class="tick first"[^>]*>([^<]+)</.exec(f.html)![1], f.id).toBe('0');
  });

  it('draws every scenario in one throughput chart per group, on one scale: no card repeats a reference', () => {
    const drawn = throughput.flatMap((f) => dataRows(f).map((r) => r.scenario).filter(Boolean));
    expect(drawn.sort()).toEqual(saved.results.map((r) => r.scenario).sort()); // each exactly once
    expect(html.match(/<section class="group"/g)).toHaveLength(throughput.length + 1); // + "All figures"
    expect(html).not.toContain('class="card');
    for (const f of throughput) {
      // One scale: width % / req/s is the same for every bar of the chart.
      const k = dataRows(f).map((r) => {
        const width = Number(/<i class="bar" style="width:([\d.]+)%"/.exec(r.html)![1]);
        const value = r.scenario ? byName.get(r.scenario)!.reqPerSec! : byName.get(f.id.replace(/^group-|-throughput$/g, ''))!.bound!.reqPerSec;
        return width / value;
      });
      for (const x of k) expect(x / k[0]!, f.id).toBeCloseTo(1, 2);
    }
  });

  it('puts nginx + php-fpm right after the phpasync scenario it compares with', () => {
    const order = (id: string) => dataRows(throughput.find((f) => f.id === id)!).map((r) => `${r.scenario}:${r.cls}`);
    expect(order('group-fastify-hello-throughput')).toEqual(['php-hello:k-phpasync', 'nginx-fpm-hello:k-nginx-fpm', 'fastify-hello:k-fastify']);
    expect(order('group-nginx-fpm-db-throughput')).toEqual(['php-db:k-phpasync', 'nginx-fpm-db:k-nginx-fpm']);
  });

  it('draws one dot per round and a min–max whisker on every measured bar', () => {
    for (const f of [figs[0]!, ...throughput]) {
      for (const r of dataRows(f).filter((x) => x.scenario)) {
        expect(r.html.match(/<i class="round"/g), `${f.id} ${r.scenario}`).toHaveLength(ROUNDS);
        expect(r.html.match(/<i class="whisker"/g), `${f.id} ${r.scenario}`).toHaveLength(1);
      }
    }
    // The dots sit at the rounds' own figures.
    const hello = dataRows(throughput[0]!).find((r) => r.scenario === 'php-hello')!;
    const dots = [...hello.html.matchAll(/<i class="round" style="left:([\d.]+)%"/g)].map((m) => Number(m[1]));
    const bar = Number(/<i class="bar" style="width:([\d.]+)%"/.exec(hello.html)![1]);
    const rps = byName.get('php-hello')!;
    rps.rounds!.forEach((round, i) => expect(dots[i]! / bar).toBeCloseTo(round.reqPerSec / rps.reqPerSec!, 2));
  });

  it('shows the latency distribution of each group: p50 to p99.9 drawn, the figures listed', () => {
    const latency = figs.filter((f) => f.id.endsWith('-latency'));
    expect(latency).toHaveLength(throughput.length);
    for (const f of latency) {
      for (const r of dataRows(f)) {
        for (const cls of ['box', 'tail', 'p99', 'p999']) expect(r.html, `${f.id} ${r.scenario} ${cls}`).toContain(`<i class="${cls}"`);
      }
    }
    const ps = byName.get('php-db')!.measurement!.acceptedPercentilesMs!;
    const row = new RegExp(`php-db</td>${[50, 90, 99, 99.9, 100].map((p) => `<td class="n">${fmtMs(ps.find((x) => x.p === p)!.ms)}</td>`).join('')}`);
    expect(html).toMatch(row);
  });

  it('loads nothing from elsewhere: no script, stylesheet link, image or URL', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('keeps every figure on one line, in tabular digits', () => {
    const css = /<style>([\s\S]*)<\/style>/.exec(html)![1]!;
    const rule = (sel: string) => new RegExp(`(^|\\})${sel.replace(/\./g, '\\.')}\\{([^}]*)\\}`, 'm').exec(css)?.[2] ?? '';
    for (const sel of ['.val', '.n', '.tick']) {
      expect(rule(sel), sel).toContain('white-space:nowrap');
      expect(rule(sel), sel).toContain('font-variant-numeric:tabular-nums');
    }
    // Every req/s, ms and ratio printed in a chart or a table sits in one of those.
    const figuresOutside = html
      .replace(/<style>[\s\S]*<\/style>/, '')
      .replace(/ title="[^"]*"/g, '') // tooltips
      .replace(/<(span class="(val|tick)[^"]*"|td class="n")[^>]*>[^<]*</g, '')
      .replace(/<(title|p class="fine"|ul class="about"|td class="notes"|figcaption)[\s\S]*?<\/(title|p|ul|td|figcaption)>/g, '');
    expect(figuresOutside).not.toMatch(/(?<![\w.,-])\d[\d.,]* ?(req\/s|ms\b|×)/);
  });
});

describe('bench --html: other shapes of result', () => {
  it('draws a one-round result (and one written before rounds and servers were recorded) without dots', () => {
    const old = load();
    delete old.options.rounds;
    for (const r of old.results) {
      delete r.rounds;
      delete r.roundRatios;
      delete r.yardstickRoundRatios;
      delete r.server;
    }
    const page = formatHtml(old);
    expect(page).not.toContain('class="round"');
    expect(page).not.toContain('class="whisker"');
    const fs2 = figures(page);
    expect(fs2[0]!.id).toBe('headline');
    // The server is told by the name: nginx + php-fpm still sits next to php-hello.
    expect(dataRows(fs2.find((f) => f.id === 'group-fastify-hello-throughput')!).map((r) => r.cls)).toEqual(['k-phpasync', 'k-nginx-fpm', 'k-fastify']);
  });

  it('draws Fastify waiting alike beside php-delay-10ms, under one bound row', () => {
    const r = load();
    const php = r.results.find((x) => x.scenario === 'php-delay-10ms')!;
    const fastify: ScenarioResult = {
      ...structuredClone(php),
      scenario: 'fastify-delay-10ms',
      server: 'fastify',
      reference: 'fastify-hello',
      reqPerSec: php.reqPerSec! * 1.1,
    };
    delete fastify.rounds;
    r.results.splice(r.results.indexOf(php), 0, fastify);
    computeRatios(r.results, SCENARIOS);
    expect(php.yardstick).toBe('fastify-delay-10ms');
    const page = formatHtml(r);
    const fig = figures(page).find((f) => f.id === 'group-php-delay-10ms-throughput')!;
    expect(dataRows(fig).map((x) => `${x.cls} ${x.scenario ?? ''}`)).toEqual(['k-phpasync php-delay-10ms', 'k-fastify fastify-delay-10ms', 'k-bound ']);
    expect(figures(page).find((f) => f.id === 'group-fastify-delay-10ms-throughput')).toBeUndefined();
    const headline = dataRows(figures(page)[0]!).map((x) => `${x.scenario} ${/<small>([^<]*)<\/small>/.exec(x.html)?.[1]}`);
    expect(headline).toContain('php-delay-10ms vs fastify-delay-10ms');
    expect(headline.filter((x) => x.startsWith('fastify-delay-10ms'))).toEqual([]);
  });

  it('says why a scenario did not run, inside its group, without a bar', () => {
    const r = load();
    const fpm = r.results.find((x) => x.scenario === 'nginx-fpm-hello')!;
    Object.assign(fpm, { status: 'skipped', reason: 'nginx or php-fpm not installed' });
    for (const k of ['measurement', 'rounds', 'reqPerSec', 'ratio', 'roundRatios'] as const) delete fpm[k];
    const hello = r.results.find((x) => x.scenario === 'php-hello')!;
    delete hello.yardstick;
    delete hello.yardstickRatio;
    delete hello.yardstickRoundRatios;
    const page = formatHtml(r);
    const row = dataRows(figures(page).find((f) => f.id === 'group-fastify-hello-throughput')!).find((x) => x.scenario === 'nginx-fpm-hello')!;
    expect(row.html).not.toContain('class="bar"');
    expect(row.html).toContain('<span class="val">skipped</span>');
    expect(page).toContain('skipped: nginx or php-fpm not installed');
    expect(dataRows(figures(page)[0]!).map((x) => x.html)).not.toContainEqual(expect.stringContaining('nginx-fpm-hello'));
  });
});

describe('bench --rounds: pooling and per-round ratios', () => {
  const m = (acceptedPerSec: number): Measurement => ({
    durationS: 1, connections: 50, responses: acceptedPerSec, reqPerSec: acceptedPerSec, accepted: acceptedPerSec, acceptedPerSec,
    errors: 0, timeouts: 0, non2xx: 0, statusCodes: { '200': acceptedPerSec }, mismatches: 0,
  });

  it('takes the median round and pools the counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const pooled = poolRounds([m(100), m(300)], new LatencyHistogram(), new LatencyHistogram());
    expect(pooled).toMatchObject({ durationS: 2, responses: 400, accepted: 400, acceptedPerSec: 200, statusCodes: { '200': 400 } });
  });

  it('the pooled histogram agrees with the exact recorder within its 1 % buckets', () => {
    const exact = new LatencyRecorder();
    const hist = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) {
      const ms = 0.05 * Math.pow(1.0009, i); // 0.05 ms .. ~400 ms
      exact.add(ms);
      hist.add(ms);
    }
    const ps = [50, 90, 99, 99.9, 100];
    const a = exact.percentiles(...ps);
    hist.percentiles(...ps).forEach((v, i) => expect(Math.abs(v! / a[i]! - 1)).toBeLessThan(0.006));
    expect(hist.distribution().map((x) => x.p)).toEqual([50, 75, 90, 95, 99, 99.9, 100]);
  });

  it('takes round i against round i of the reference, and the yardstick ratio apart', () => {
    const ok = (scenario: string, rounds: number[]): ScenarioResult => {
      const s = SCENARIOS.find((x) => x.name === scenario)!;
      const r: ScenarioResult = { scenario, measures: '', status: 'ok', rounds: rounds.map((x) => ({ reqPerSec: x, responsesPerSec: x })), reqPerSec: median(rounds), measurement: m(median(rounds)) };
      if (s.reference) r.reference = s.reference;
      return r;
    };
    const results = [ok('fastify-hello', [1000, 2000]), ok('php-hello', [500, 1500]), ok('nginx-fpm-hello', [250, 500])];
    computeRatios(results, SCENARIOS);
    expect(results[1]!.roundRatios).toEqual([0.5, 0.75]);
    expect(results[1]!.ratio).toBeCloseTo(1000 / 1500);
    expect(results[1]).toMatchObject({ yardstick: 'nginx-fpm-hello', yardstickRoundRatios: [2, 3] });
    expect(results[1]!.yardstickRatio).toBeCloseTo(1000 / 375);
  });

  it('refuses --rounds that is not a whole number from 1 to 100', async () => {
    for (const bad of ['0', '-1', '1.5', '101']) {
      const { code, out } = await runCli(['bench', '--rounds', bad]);
      expect(code, bad).toBe(2);
      expect(out).toContain(`--rounds must be a whole number greater than 0 and at most 100, got '${bad}'`);
    }
  });
});

describe('bench --rounds: a real run', () => {
  it('measures php-hello twice against its reference, alternating, and draws both rounds', async () => {
    const dir = tempDir();
    const json = path.join(dir, 'bench.json');
    const page = path.join(dir, 'bench.html');
    const { code, out } = await runCli(['bench', '--duration', '1', '--rounds', '2', '--scenario', 'php-hello', '--json', json, '--html', page]);
    expect(code, out).toBe(0);
    // Alternated: round 1 of both scenarios before round 2 of either.
    const order = [...out.matchAll(/bench: (\S+) \(round (\d)\/2\) \(/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(order).toEqual(['fastify-hello 1', 'php-hello 1', 'fastify-hello 2', 'php-hello 2']);
    const r = JSON.parse(fs.readFileSync(json, 'utf8')) as BenchReport;
    expect(r.options.rounds).toBe(2);
    for (const x of r.results) {
      expect(x.rounds, x.scenario).toHaveLength(2);
      expect(x.reqPerSec).toBeCloseTo(median(x.rounds!.map((y) => y.reqPerSec)));
      expect(x.measurement!.accepted).toBeGreaterThan(0);
      expect(x.measurement!.acceptedPercentilesMs!.map((p) => p.p)).toEqual([50, 75, 90, 95, 99, 99.9, 100]);
    }
    expect(r.results[1]!.roundRatios).toHaveLength(2);
    const h = fs.readFileSync(page, 'utf8');
    expect(figures(h)[0]!.id).toBe('headline');
    expect(dataRows(figures(h)[0]!)[0]!.html.match(/<i class="round"/g)).toHaveLength(2);
  });
});
