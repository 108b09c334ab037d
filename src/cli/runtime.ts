// The server and the native addon are loaded only by the commands that need them, so `adapt`
// and `--help` work on a machine where the addon is not built.

import { checkFiles } from '../config/checks.js';
import type { ConfigError } from '../config/errors.js';
import type { PhpasyncConfig } from '../config/model.js';
import { checkRunnable, classicThreads } from '../config/runnable.js';
import { checkRuntime } from '../config/runtime-checks.js';
import { allWorkers } from '../config/walk.js';
import { PhpasyncError } from '../server/errors.js';

async function load<T>(what: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    throw new PhpasyncError('PHPASYNC_LOAD', [what, (err as Error).message], { cause: err });
  }
}

export function loadServer(): Promise<typeof import('../server/run.js')> {
  return load('the phpasync server', () => import('../server/run.js'));
}

export function loadNative(): Promise<typeof import('../native/index.js')> {
  return load('the native addon (build it with ./build.sh)', () => import('../native/index.js'));
}

/**
 * Everything that stops a config from running: missing files, what the server lacks, what this
 * build and the linked PHP cannot do. The one check `run`, `validate` and `adapt --validate`
 * share, so validate never passes what run refuses. Loads the addon (to ask the PHP), not the
 * server (test/cli/validate-light.test.ts checks that Fastify stays unloaded).
 */
export async function runnableProblems(config: PhpasyncConfig): Promise<ConfigError[]> {
  const php = (await loadNative()).loadAddon().phpInfo();
  return [...checkFiles(config), ...checkRunnable(config), ...checkRuntime(config, php)];
}

/** What `serve` asks of the supervisor beyond the config. */
export interface SuperviseOptions {
  pidFile?: string;
  /** `run --watch`: the Caddyfile, adapted again when it changes (src/server/reload.ts). */
  configFile?: { path: string; read(): PhpasyncConfig };
}

/** Runs the config under the supervisor (until it stops) when it asks for several processes, or
 * when it must restart PHP without stopping (worker `watch`, `run --watch`: PHP cannot start twice
 * in one process, so a restart is a new child); false when one process serves it (the caller
 * runs it). */
export async function supervise(config: PhpasyncConfig, options: SuperviseOptions = {}): Promise<boolean> {
  const { processPlan } = await import('../supervisor/plan.js');
  const php = (await loadNative()).loadAddon().phpInfo();
  const restarts = options.configFile !== undefined || allWorkers(config).some((w) => w.watch.length > 0);
  const planOf = (c: PhpasyncConfig) => {
    const p = processPlan(c, allWorkers(c)[0]?.num ?? classicThreads(c) ?? 1, php);
    return restarts && p.processes === 0 ? { processes: 1, threads: p.threads } : p;
  };
  const plan = planOf(config);
  if (plan.processes === 0) return false;
  const { runSupervisor } = await load('the supervisor', () => import('../supervisor/supervisor.js'));
  const { DRAIN_TIMEOUT_MS } = await import('../config/defaults.js');
  await runSupervisor(config, plan, {
    drainMs: config.global?.drainTimeoutMs ?? DRAIN_TIMEOUT_MS,
    // Once supervised, a config that would run unsupervised from a fresh start runs in one child.
    processesOf: (c) => {
      const p = planOf(c);
      return p.processes === 0 ? { processes: 1, threads: p.threads } : p;
    },
    ...(options.pidFile ? { pidFile: options.pidFile } : {}),
    ...(options.configFile ? { configFile: options.configFile } : {}),
  });
  return true;
}
