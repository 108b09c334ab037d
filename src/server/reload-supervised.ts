// What a supervised server adds for reloads (src/server/reload.ts says why they run there):
// the file watchers and, when the config asks for an admin address, the admin endpoint with
// POST /load, served by the supervisor (it owns the addresses and outlives every child).
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';

import { DEFAULT_ADMIN_ADDRESS, parseAdminAddress } from '../config/admin-address.js';
import type { PhpasyncConfig } from '../config/model.js';
import { loadAddon } from '../native/index.js';
import { startAdmin } from './admin.js';
import { PhpasyncError } from './errors.js';
import { Reloader, type LoadOutcome, type Restarter } from './reload.js';

/** `run --watch`: the Caddyfile and how to adapt it again. */
export interface ConfigFile {
  path: string;
  read(): PhpasyncConfig;
}

export interface SupervisedReloads {
  /** Applies a posted config (for an admin endpoint served elsewhere). */
  load(config: unknown): Promise<LoadOutcome>;
  close(): void;
}

export async function startReloads(o: {
  log: Logger;
  ready: () => boolean;
  configFile: ConfigFile | undefined;
  restarter: Restarter;
  /** false: the caller serves the admin endpoint and routes /load to `load`. */
  serveAdmin?: boolean;
}): Promise<SupervisedReloads> {
  const log = o.log as unknown as FastifyBaseLogger;
  const reloader = new Reloader({
    restarter: o.restarter,
    php: loadAddon().phpInfo(),
    log,
    ...(o.configFile ? { configFile: o.configFile } : {}),
  });
  const load = (c: unknown): Promise<LoadOutcome> => reloader.load(c, 'admin');
  const g = o.restarter.config().global;
  const address = typeof g?.admin === 'string' ? g.admin : g?.metrics ? DEFAULT_ADMIN_ADDRESS : undefined;
  if (address === undefined || o.serveAdmin === false) return { load, close: () => reloader.close() };
  const where = parseAdminAddress(address)!; // checkRunnable refused what does not parse
  // Metrics are the children's, not summed here yet: the config checks refuse `metrics` for a
  // supervised server, but for `run --watch`, which they do not see; /metrics answers 501 then.
  const unsupported = g?.metrics ? "not supported yet: metrics of a supervised server (run --watch): the supervisor does not sum its children's metrics" : undefined;
  if (unsupported) o.log.warn(unsupported);
  const admin = await startAdmin(where, { ready: o.ready, metrics: undefined, load, ...(unsupported ? { metricsUnsupported: unsupported } : {}) }, log).catch(
    (err: NodeJS.ErrnoException) => {
      reloader.close();
      throw new PhpasyncError('PHPASYNC_LISTEN', [`${address} (admin)`, err.code ?? err.message]);
    },
  );
  return {
    load,
    close() {
      reloader.close();
      admin.close();
      admin.closeAllConnections();
    },
  };
}
