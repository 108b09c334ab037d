// `phpasync bench`: side-by-side load benchmarks (the engine lives in src/bench).

import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONNECTIONS, DEFAULT_DURATION_S, parseBenchArgs } from './bench-options.js';
import { plan, SCENARIOS } from '../../bench/scenarios.js';
import { installNginxFpm } from '../../bench/servers/install-nginx.js';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_RUNTIME } from '../report.js';

function scenarioHelp(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  return SCENARIOS.map((s) => `  ${s.name.padEnd(width)}  ${s.measures}`).join('\n');
}

/** The command line as a shell would take it back. */
function shellLine(argv: string[]): string {
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['phpasync', 'bench', ...argv].map(quote).join(' ');
}

function writeOut(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, text);
}

export const bench: Command = {
  name: 'bench',
  summary: 'Benchmark phpasync side by side with Fastify (and nginx + php-fpm)',
  help: `Usage: phpasync bench [--duration S] [--connections N] [--rounds N] [--scenario NAME]... [--json FILE] [--html FILE] [--install-nginx]

Runs load (autocannon) against servers started as child processes, one scenario at a time,
and prints a table: req/s, p50, p99, errors, non-2xx and the ratio to a reference measured
in the same run. Ratios are the figures to read: absolute ones depend on the machine.

Options:
  -d, --duration S        Seconds of load per scenario, after a warm-up of up to 1 s (default ${DEFAULT_DURATION_S})
  -c, --connections N     Concurrent connections (default ${DEFAULT_CONNECTIONS}); php-delay-10ms and overload
                          use their own fixed c
      --rounds N          Measure every scenario N times, the rounds alternating between scenarios
                          (default 1); figures are the median round, the report draws the spread
  -s, --scenario NAME     Run only this scenario (repeatable, or comma-separated); the references
                          of the chosen scenarios run too
      --json FILE         Write the full results as JSON
      --html FILE         Write an HTML report: ratios first, then charts per group of scenarios
      --install-nginx     apt-get install nginx php8.2-fpm first (root only)
  -h, --help              Show this help

Scenarios:
${scenarioHelp()}

Exit status: 0 when every scenario ran or was skipped with a reason, 1 when one failed,
2 for invalid flags.`,
  async run(argv) {
    const opts = parseBenchArgs(argv);
    if (opts.help) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    if (opts.installNginx) await installNginxFpm();
    // Loaded here, not at CLI start: autocannon is a dev dependency and `phpasync run` must not need it.
    const { runBench, formatTable, formatHtml } = await import('../../bench/index.js');
    const scenarios = plan(opts.scenarios);
    const report = await runBench({
      command: shellLine(argv),
      scenarios,
      requested: new Set(opts.scenarios.length > 0 ? opts.scenarios : scenarios.map((s) => s.name)),
      durationS: opts.durationS,
      connections: opts.connections,
      rounds: opts.rounds,
    });
    process.stdout.write(formatTable(report));
    if (opts.json !== undefined) writeOut(opts.json, JSON.stringify(report, null, 2) + '\n');
    if (opts.html !== undefined) writeOut(opts.html, formatHtml(report));
    return report.results.some((r) => r.status === 'failed') ? EXIT_RUNTIME : EXIT_OK;
  },
};
