// What a config asks that this phpasync or the linked PHP cannot do, beyond the directives the
// server refuses (src/server/run.ts checkRunnable). Called by `runnableProblems`, which `run`,
// `validate` and `adapt --validate` all go through, so validate never passes what run refuses.

import { ConfigError } from './errors.js';
import type { DirectiveConfig, PhpasyncConfig, WorkerConfig } from './model.js';
import { matchesEveryPath } from './worker-match.js';

/** Facts about the linked PHP (the addon's phpInfo()). */
export interface PhpFacts {
  zts: boolean;
}

/** The addon starts at most this many PHP threads (addon/engine.cc). */
export const MAX_WORKER_THREADS = 256;

export function workersOf(config: PhpasyncConfig): WorkerConfig[] {
  const workers = [...(config.frankenphp?.workers ?? [])];
  const walk = (ds: DirectiveConfig[]): void => {
    for (const d of ds) {
      workers.push(...(d.phpServer?.workers ?? []), ...(d.php?.workers ?? []));
      walk(d.children);
    }
  };
  for (const site of config.sites) walk(site.directives);
  return workers;
}

export function checkRuntime(config: PhpasyncConfig, php: PhpFacts): ConfigError[] {
  const errors: ConfigError[] = [];
  const workers = workersOf(config);
  for (const w of workers) {
    if (w.num > MAX_WORKER_THREADS) {
      errors.push(new ConfigError(`worker num must be at most ${MAX_WORKER_THREADS}, got ${w.num}`, w.source));
    } else if (w.num > 1 && !php.zts && config.global?.processes !== undefined) {
      // On NTS `num N` alone means N processes (src/supervisor/plan.ts); both at once is ambiguous.
      errors.push(
        new ConfigError(
          `this PHP is NTS (not thread-safe): one PHP thread per process, so num ${w.num} means ${w.num} processes; with the global option processes ${config.global.processes} set, num must be 1`,
          w.source,
        ),
      );
    }
  }

  // Caddy evaluates a worker's match on the rewritten path; phpasync does not apply rewrites
  // yet, so a match narrower than every path would test the wrong path.
  const narrow = workers.find((w) => w.match.length > 0 && !matchesEveryPath(w.match));
  if (narrow) {
    const walk = (ds: DirectiveConfig[]): DirectiveConfig | undefined => {
      for (const d of ds) {
        if (d.name === 'rewrite' || d.name === 'uri') return d;
        const inner = walk(d.children);
        if (inner) return inner;
      }
      return undefined;
    };
    for (const site of config.sites) {
      const r = walk(site.directives);
      if (r) {
        errors.push(
          new ConfigError(
            `not supported yet: ${r.name} together with worker match ${narrow.match.join(' ')} (the match would be tested on the rewritten path); use match * or drop the ${r.name}`,
            r.source,
          ),
        );
      }
    }
  }

  // php_server serves the root's static files unless told not to. Static files are not built
  // yet: a php_server that would serve them is refused rather than silently answering
  // without them. A worker that matches every path takes every request before any file is
  // looked at (FrankenPHP's `match`), so then no file could be served anyway.
  const everything = workers.some((w) => matchesEveryPath(w.match));
  if (!everything) {
    const walk = (ds: DirectiveConfig[]): void => {
      for (const d of ds) {
        if (d.phpServer?.fileServer) {
          errors.push(
            new ConfigError(
              'not supported yet: file_server (static files) inside php_server; add `file_server off` inside php_server, or give the worker `match *`',
              d.source,
            ),
          );
        }
        walk(d.children);
      }
    };
    for (const site of config.sites) walk(site.directives);
  }
  return errors;
}
