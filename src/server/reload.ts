// Applying a new config to a running server (Caddy's `POST /load`, `phpasync reload --config`,
// `run --watch`) and restarting the PHP workers when a watched file changes.
//
// How a restart happens: PHP cannot start twice in one process (addon/engine.cc), so new code
// or a new config runs in a new process. The supervisor (src/supervisor/) already replaces its
// children one at a time, the new one serving before the old one drains, with no request refused
// or lost; a server that watches files runs under it (one child), and so does any server that
// can reload. An in-process restart of each thread's interpreter (the path a fatal error takes)
// was the other way: it keeps PHP's startup state (php_ini, extensions, OPcache's compiled
// files until it revalidates them), and the requests that arrive meanwhile wait in the bounded
// per-thread rings (503 once full) instead of being served by another process.
//
// A load is checked before anything changes: the config must pass the checks `run` makes, and
// what only the supervisor holds (the listening addresses, the admin address, the number of
// processes) must not change: that needs a restart, and the answer says so. Then the children
// are replaced; if the first new one fails to start (the worker file throws), the old ones keep
// serving the old config and the answer carries PHP's message.
import type { FastifyBaseLogger } from 'fastify';

import { checkFiles } from '../config/checks.js';
import { DEFAULT_ADMIN_ADDRESS } from '../config/admin-address.js';
import type { PhpasyncConfig } from '../config/model.js';
import { checkRunnable } from '../config/runnable.js';
import { checkRuntime, type PhpFacts } from '../config/runtime-checks.js';
import { allWorkers } from '../config/walk.js';
import { watchFiles, type FileWatcher } from './watch.js';

/** What a load answers; `status` is the admin endpoint's HTTP status. */
export interface LoadOutcome {
  status: number;
  applied: boolean;
  /** One line per problem (config errors as FILE:LINE: message). */
  errors: string[];
  message: string;
}

/** How the supervisor restarts its children (src/supervisor/supervisor.ts). */
export interface Restarter {
  /** Replaces every child with one running the current config. */
  restart(why: string): Promise<{ ok: boolean; replaced: number; error?: string }>;
  config(): PhpasyncConfig;
  /** Takes the config new children get; `threads` per child (a ZTS worker's num). */
  setConfig(config: PhpasyncConfig): void;
  /** Children each config asks for (the supervisor's plan). */
  processes(config: PhpasyncConfig): number;
}

function addressesOf(config: PhpasyncConfig): string[] {
  return config.sites.flatMap((s) => s.addresses.map((a) => `${a.scheme}://${a.bind ?? a.host}:${a.port}`));
}

function adminOf(config: PhpasyncConfig): string | undefined {
  const g = config.global;
  return typeof g?.admin === 'string' ? g.admin : g?.metrics ? DEFAULT_ADMIN_ADDRESS : undefined;
}

/** A JSON body that is not shaped like `phpasync adapt`'s output. */
function shapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body is not a JSON object';
  const c = value as Partial<PhpasyncConfig>;
  if (typeof c.configFile !== 'string') return 'configFile is missing: post what `phpasync adapt` prints';
  if (!Array.isArray(c.sites)) return 'sites is missing: post what `phpasync adapt` prints';
  return undefined;
}

function bad(status: number, message: string, errors: string[] = []): LoadOutcome {
  return { status, applied: false, errors, message };
}

/** The config checks `run` makes, on a config received as JSON. */
export function checkLoad(value: unknown, php: PhpFacts): { config: PhpasyncConfig } | LoadOutcome {
  const shape = shapeProblem(value);
  if (shape) return bad(400, `not a phpasync config: ${shape}`);
  const config = value as PhpasyncConfig;
  let problems;
  try {
    problems = [...checkFiles(config), ...checkRunnable(config), ...checkRuntime(config, php)];
  } catch (err) {
    // A hand-made body missing fields the checks read.
    return bad(400, `not a phpasync config: ${(err as Error).message}`);
  }
  if (problems.length > 0) {
    const errors = problems.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.detail}` : e.message));
    return bad(400, `the new config is not valid; the old one keeps serving`, errors);
  }
  return { config };
}

/** What differs between the running config and a new one that only a restart can change. */
export function notLiveChanges(current: PhpasyncConfig, next: PhpasyncConfig, restarter: Restarter): string[] {
  const out: string[] = [];
  const [a, b] = [addressesOf(current), addressesOf(next)];
  if (a.join(' ') !== b.join(' ')) out.push(`the listening addresses (${a.join(', ')} -> ${b.join(', ')})`);
  const [ad, bd] = [adminOf(current), adminOf(next)];
  if (ad !== bd) out.push(`the admin address (${ad ?? 'none'} -> ${bd ?? 'none'})`);
  const [ap, bp] = [restarter.processes(current), restarter.processes(next)];
  if (ap !== bp) out.push(`the number of processes (${ap} -> ${bp})`);
  return out;
}

export interface ReloaderOptions {
  restarter: Restarter;
  php: PhpFacts;
  log: FastifyBaseLogger | import('pino').Logger;
  /** `run --watch`: reads the Caddyfile again (adapts it) when it changes. */
  configFile?: { path: string; read(): PhpasyncConfig };
}

/**
 * Loads, one at a time, and watches: the workers' `watch` patterns (a change restarts the
 * children) and, with `run --watch`, the Caddyfile (a change loads it).
 */
export class Reloader {
  private queue: Promise<unknown> = Promise.resolve();
  private patterns: FileWatcher | undefined;
  private configWatch: FileWatcher | undefined;
  private closed = false;

  constructor(private readonly o: ReloaderOptions) {
    this.watchPatterns();
    const cf = o.configFile;
    if (cf) {
      this.configWatch = watchFiles([cf.path], () => void this.loadFile(cf), (m) => o.log.warn(m));
    }
  }

  /** Applies a config posted as JSON (already parsed). Serialized with every other load. */
  load(value: unknown, source: string): Promise<LoadOutcome> {
    const run = this.queue.then(() => this.apply(value, source));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.closed = true;
    this.patterns?.close();
    this.configWatch?.close();
  }

  private watchPatterns(): void {
    this.patterns?.close();
    const patterns = allWorkers(this.o.restarter.config()).flatMap((w) => w.watch);
    if (patterns.length === 0) return;
    this.patterns = watchFiles(patterns, (files) => this.changed(files), (m) => this.o.log.warn(m));
  }

  private changed(files: string[]): void {
    if (this.closed) return;
    const more = files.length > 1 ? ` (and ${files.length - 1} more)` : '';
    this.o.log.info({ files }, `watch: ${files[0]} changed${more}: restarting the PHP workers`);
    const run = this.queue.then(async () => {
      const r = await this.o.restarter.restart('watch');
      if (r.ok) this.o.log.info({ files }, 'watch: the PHP workers run the new code');
      else this.o.log.error({ files, error: r.error }, `watch: the new workers did not start; the old ones keep serving: ${r.error}`);
    });
    this.queue = run.catch(() => undefined);
  }

  private loadFile(cf: { path: string; read(): PhpasyncConfig }): void {
    if (this.closed) return;
    let config: PhpasyncConfig;
    try {
      config = cf.read();
    } catch (err) {
      this.o.log.error(`watch: ${cf.path} changed but cannot be read; the old config keeps serving: ${(err as Error).message}`);
      return;
    }
    this.o.log.info(`watch: ${cf.path} changed: loading it`);
    void this.load(config, 'watch').then((r) => {
      const errors = r.errors.length > 0 ? `\n${r.errors.join('\n')}` : '';
      if (r.applied) this.o.log.info(`watch: ${r.message}`);
      else this.o.log.error({ errors: r.errors }, `watch: ${r.message}${errors}`);
    });
  }

  private async apply(value: unknown, source: string): Promise<LoadOutcome> {
    const checked = checkLoad(value, this.o.php);
    if ('status' in checked) return checked;
    const next = checked.config;
    const r = this.o.restarter;
    const current = r.config();
    const fixed = notLiveChanges(current, next, r);
    if (fixed.length > 0) {
      return bad(409, `not applied: a restart of the server is needed to change ${fixed.join('; ')}; the old config keeps serving`, fixed);
    }
    this.o.log.info({ source }, 'load: the new config is valid; replacing the PHP workers');
    r.setConfig(next);
    const out = await r.restart('load');
    if (!out.ok) {
      r.setConfig(current);
      // More than one child and a later one failed: the first ones run the new config; put the
      // old one back everywhere rather than serve two configs.
      if (out.replaced > 0) await r.restart('load rolled back');
      return bad(500, `not applied: the new workers did not start; the old config keeps serving: ${out.error ?? 'unknown error'}`, [out.error ?? '']);
    }
    this.watchPatterns();
    return { status: 200, applied: true, errors: [], message: 'the new config is serving' };
  }
}

/** A server of one process: it checks a posted config, then says why it cannot apply it. */
export function loadWithoutSupervisor(value: unknown, php: PhpFacts): LoadOutcome {
  const checked = checkLoad(value, php);
  if ('status' in checked) return checked;
  return bad(
    409,
    'not applied: this server runs one process, and PHP cannot start twice in one process; start it with the global option `processes 1` (a supervisor then replaces its process on a load) or restart it',
  );
}
