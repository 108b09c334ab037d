// `phpasync bench` flags, checked before anything starts: a typo must not cost a minute of load.

import { findScenario, scenarioNames } from '../../bench/scenarios.js';
import { bool, list, parseFlags, str, type Parsed } from '../args.js';
import { UsageError } from '../report.js';

export interface BenchOptions {
  durationS: number;
  connections: number;
  rounds: number;
  scenarios: string[];
  json?: string;
  html?: string;
  installNginx: boolean;
  help: boolean;
}

export const DEFAULT_DURATION_S = 10;
/** The c of the yardsticks in DESIGN.md (wrk -c50). */
export const DEFAULT_CONNECTIONS = 50;
const MAX_DURATION_S = 3600;
const MAX_CONNECTIONS = 10_000;
const MAX_ROUNDS = 100;

/** parseArgs reads `--duration -1` as a missing value; join it so the range check can explain. */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if ((a === '--duration' || a === '-d' || a === '--connections' || a === '-c' || a === '--rounds') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`.replace(/^-d=/, '--duration=').replace(/^-c=/, '--connections='));
      i++;
    } else out.push(a);
  }
  return out;
}

function positiveNumber(p: Parsed, key: string, fallback: number, max: number, integer: boolean): number {
  const raw = str(p, key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  const kind = integer ? 'a whole number' : 'a number of seconds';
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`bench: --${key} must be ${kind} greater than 0 and at most ${max}, got '${raw}'`);
  }
  return n;
}

export function parseBenchArgs(argv: string[]): BenchOptions {
  const p = parseFlags('bench', joinNegativeValues(argv), {
    duration: { type: 'string', short: 'd' },
    connections: { type: 'string', short: 'c' },
    rounds: { type: 'string' },
    scenario: { type: 'string', short: 's', multiple: true },
    json: { type: 'string' },
    html: { type: 'string' },
    'install-nginx': { type: 'boolean' },
  });
  const help = bool(p, 'help');
  // Repeatable, and commas accepted too: --scenario php-hello,php-json
  const scenarios = list(p, 'scenario').flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const unknown = scenarios.filter((s) => findScenario(s) === undefined);
  if (unknown.length > 0) {
    throw new UsageError(`bench: unknown scenario ${unknown.map((u) => `'${u}'`).join(', ')}; scenarios: ${scenarioNames().join(', ')}`);
  }
  const opts: BenchOptions = {
    durationS: positiveNumber(p, 'duration', DEFAULT_DURATION_S, MAX_DURATION_S, false),
    connections: positiveNumber(p, 'connections', DEFAULT_CONNECTIONS, MAX_CONNECTIONS, true),
    rounds: positiveNumber(p, 'rounds', 1, MAX_ROUNDS, true),
    scenarios: [...new Set(scenarios)],
    installNginx: bool(p, 'install-nginx'),
    help,
  };
  const json = str(p, 'json');
  const html = str(p, 'html');
  if (json !== undefined) opts.json = json;
  if (html !== undefined) opts.html = html;
  if (opts.installNginx && process.getuid?.() !== 0) throw new UsageError('bench: --install-nginx runs apt-get install nginx php8.2-fpm and needs root');
  return opts;
}
