// What a supervised server adds for reloads (src/server/reload.ts says why they run there):
// the file watchers and the config loader behind POST /load, which the supervisor's admin
// endpoint routes here (it owns the addresses and outlives every child).
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';

import type { PhpasyncConfig } from '../config/model.js';
import { loadAddon } from '../native/index.js';
import { Reloader, type LoadOutcome, type Restarter } from './reload.js';

/** `run --watch`: the Caddyfile and how to adapt it again. */
export interface ConfigFile {
  path: string;
  read(): PhpasyncConfig;
}

export interface SupervisedReloads {
  /** Applies a posted config (POST /load on the supervisor's admin endpoint). */
  load(config: unknown): Promise<LoadOutcome>;
  close(): void;
}

export async function startReloads(o: {
  log: Logger;
  configFile: ConfigFile | undefined;
  restarter: Restarter;
}): Promise<SupervisedReloads> {
  const log = o.log as unknown as FastifyBaseLogger;
  const reloader = new Reloader({
    restarter: o.restarter,
    php: loadAddon().phpInfo(),
    log,
    ...(o.configFile ? { configFile: o.configFile } : {}),
  });
  const load = (c: unknown): Promise<LoadOutcome> => reloader.load(c, 'admin');
  return { load, close: () => reloader.close() };
}
