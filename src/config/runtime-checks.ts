// What a config asks that this phpasync or the linked PHP cannot do, beyond the directives the
// runtime refuses (checkRunnable in src/config/runnable.ts). Called by `runnableProblems`, which `run`,
// `validate` and `adapt --validate` all go through, so validate never passes what run refuses.

import { ENGINE } from './defaults.js';
import { ConfigError } from './errors.js';
import type { PhpasyncConfig } from './model.js';
import { classicThreads, mixedClassicProcesses } from './runnable.js';
import { allWorkers } from './walk.js';

/** Facts about the linked PHP (the addon's phpInfo()). */
export interface PhpFacts {
  zts: boolean;
}

/** The most PHP threads one engine starts (the adapter leaves `num` unbounded: checked here, so
 * that `validate` says it). */
const MAX_WORKER_THREADS = ENGINE.threads.max;

export function checkRuntime(config: PhpasyncConfig, php: PhpFacts): ConfigError[] {
  const errors: ConfigError[] = [];
  const workers = allWorkers(config);
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

  const classic = classicThreads(config);
  if (classic !== undefined && classic > MAX_WORKER_THREADS) {
    errors.push(new ConfigError(`num_threads must be at most ${MAX_WORKER_THREADS} for classic scripts, got ${classic}`, config.frankenphp?.source));
  } else if (classic !== undefined && classic > 1 && !php.zts && config.global?.processes !== undefined) {
    errors.push(
      new ConfigError(
        `this PHP is NTS (not thread-safe): one PHP thread per process, so num_threads ${classic} means ${classic} processes; with the global option processes ${config.global.processes} set, leave num_threads out`,
        config.frankenphp?.source,
      ),
    );
  }

  const mixed = mixedClassicProcesses(config);
  if (mixed !== undefined && mixed > MAX_WORKER_THREADS) {
    errors.push(new ConfigError(`num_threads leaves ${mixed} PHP threads for classic scripts next to the worker; at most ${MAX_WORKER_THREADS}`, config.frankenphp?.source));
  }

  return errors;
}
