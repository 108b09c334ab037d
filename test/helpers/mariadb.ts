// A real MariaDB for the database tests (src/bench/servers/mariadb.ts does the work: Debian's
// mariadbd as the current user, private datadir and unix socket in a temp dir, no system
// service touched), and the reason to skip when MariaDB or PHP's MySQL drivers are absent.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { findMariaDb, MARIADB_INSTALL_HINT, startMariaDb as start, type MariaDb as Db } from '../../src/bench/servers/mariadb.js';
import { CLI } from './server.js';

const run = promisify(execFile);

export interface MariaDb extends Db {
  /** Stops the server; `remove` (default) also deletes its temp dir. */
  stop(remove?: boolean): Promise<void>;
}

/** Whether phpasync's embedded PHP loads pdo_mysql and mysqli; why not when it does not. */
async function phpMysqlMissing(): Promise<string | undefined> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-ext-'));
  const script = path.join(dir, 'ext.php');
  fs.writeFileSync(script, '<?php echo implode(",", array_filter(["pdo_mysql", "mysqli"], fn ($e) => !extension_loaded($e)));');
  try {
    const { stdout } = await run(process.execPath, [CLI, 'php-cli', script]);
    const missing = stdout.trim();
    return missing ? `phpasync's PHP does not load ${missing}: ${MARIADB_INSTALL_HINT}` : undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** For describe.skipIf: undefined when the database tests can run here, else why not. */
export async function mariaDbSkipReason(): Promise<string | undefined> {
  const bin = findMariaDb();
  if (typeof bin === 'string') return bin;
  return phpMysqlMissing();
}

/** Starts a MariaDB in a fresh temp dir (schema `phpasync_test`, user `phpasync`). */
export async function startMariaDb(opts: { schema?: string } = {}): Promise<MariaDb> {
  const bin = findMariaDb();
  if (typeof bin === 'string') throw new Error(bin);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-mariadb-'));
  let db: Db;
  try {
    db = await start(bin, dir, opts);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...db,
    stop: async (remove = true) => {
      await db.stop();
      if (remove) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
