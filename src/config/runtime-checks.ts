// What a config asks that this phpasync or the linked PHP cannot do, beyond the directives the
// server refuses (src/server/run.ts checkRunnable). Called by `runnableProblems`, which `run`,
// `validate` and `adapt --validate` all go through, so validate never passes what run refuses.

import { ENGINE } from './defaults.js';
import { ConfigError } from './errors.js';
import type { DirectiveConfig, PhpasyncConfig, WorkerConfig } from './model.js';
import { matchesEveryPath } from './worker-match.js';

/** Facts about the linked PHP (the addon's phpInfo()). */
export interface PhpFacts {
  zts: boolean;
}

/** The most PHP threads one engine starts (the adapter leaves `num` unbounded: checked here, so
 * that `validate` says it). */
const MAX_WORKER_THREADS = ENGINE.threads.max;

function workersOf(config: PhpasyncConfig): WorkerConfig[] {
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
    } else if (w.num > 1 && !php.zts) {
      // Same words as the addon's refusal, which stays as the last line of defence.
      errors.push(
        new ConfigError(
          `this PHP is NTS (not thread-safe): it can run only one PHP thread per process, so an async worker's num must be 1 (several processes are not supported yet); got num ${w.num}`,
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
