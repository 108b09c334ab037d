// The servers of the php-db scenarios: a private MariaDB (mariadb.ts) with the bench table,
// then phpasync or nginx + php-fpm pointed at it through PHPASYNC_DB_* in their environment.
// stop() stops the web server first, then the database.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DB_FPM, DB_WORKER } from '../paths.js';
import type { ServerHandle } from './child.js';
import { findMariaDb, startMariaDb, type MariaDb } from './mariadb.js';
import { findNginxFpm, startNginxFpm } from './nginx-fpm.js';
import { startPhpasync } from './phpasync.js';

/** Rows of bench_items; src/bench/php/db-common.php picks one at random per request. */
export const DB_ROWS = 10_000;
/** php-fpm children for the database yardstick: the "cores × 4" (pm static). */
export const DB_FPM_CHILDREN = os.cpus().length * 4;

// seq_1_to_N is MariaDB's built-in SEQUENCE engine.
const SCHEMA = `CREATE TABLE bench_items (id INT NOT NULL PRIMARY KEY, name VARCHAR(32) NOT NULL) ENGINE=InnoDB;
INSERT INTO bench_items SELECT seq, CONCAT('item-', seq) FROM seq_1_to_${DB_ROWS};`;

export type DbServerKind = 'phpasync-db' | 'nginx-fpm-db';

/** Starts MariaDB and the web server; a string says why the scenario cannot run here. */
export async function startDbServer(kind: DbServerKind, dir: string): Promise<ServerHandle | string> {
  const bin = findMariaDb();
  if (typeof bin === 'string') return bin;
  const web = kind === 'nginx-fpm-db' ? findNginxFpm() : undefined;
  if (typeof web === 'string') return web;
  const dbDir = path.join(dir, 'mariadb');
  fs.mkdirSync(dbDir);
  // Every bench connection is a server thread; c=100 plus the pool's idle ones.
  const db: MariaDb = await startMariaDb(bin, dbDir, { schema: SCHEMA });
  let server: ServerHandle;
  try {
    server =
      web === undefined
        ? await startPhpasync(dir, { worker: DB_WORKER, env: db.env })
        : await startNginxFpm(web, dir, { script: DB_FPM, children: DB_FPM_CHILDREN, env: db.env });
  } catch (err) {
    await db.stop();
    throw err;
  }
  return {
    url: server.url,
    output: () => server.output(),
    stop: async () => {
      await server.stop();
      await db.stop();
    },
  };
}
