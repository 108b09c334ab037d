// The server and the native addon are loaded only by the commands that need them, so `adapt`
// and `--help` work on a machine where the addon is not built.

import { checkFiles } from '../config/checks.js';
import type { ConfigError } from '../config/errors.js';
import type { PhpasyncConfig } from '../config/model.js';

async function load<T>(what: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    throw new Error(`cannot load ${what}: ${(err as Error).message}`, { cause: err });
  }
}

export function loadServer(): Promise<typeof import('../server/run.js')> {
  return load('the phpasync server', () => import('../server/run.js'));
}

export function loadNative(): Promise<typeof import('../native/index.js')> {
  return load('the native addon (build it with ./build.sh)', () => import('../native/index.js'));
}

/** Everything that stops a config from running: missing files, then what the runtime lacks. */
export async function runnableProblems(config: PhpasyncConfig): Promise<ConfigError[]> {
  return [...checkFiles(config), ...(await loadServer()).checkRunnable(config)];
}
