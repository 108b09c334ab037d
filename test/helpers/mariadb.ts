// A real MariaDB for the database tests: Debian's mariadbd started as the current user with a
// private datadir and unix socket in a temp dir (no TCP port, no system service, nothing under
// /etc or /var touched), one schema and one user made for the test, stopped and removed after.
// scripts/install-test-deps.sh installs the server and PHP's MySQL drivers.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { CLI } from './server.js';

const run = promisify(execFile);

export interface MariaDbBinaries {
  server: string;
  installDb: string;
  client: string;
}

export interface MariaDb {
  dir: string;
  socket: string;
  user: string;
  password: string;
  database: string;
  /** PHPASYNC_DB_* for the worker (test/fixtures/php/db.php reads them). */
  env: Record<string, string>;
  /** Runs SQL as root through the client; resolves with its tab-separated output. */
  sql(statements: string, database?: string): Promise<string>;
  /** Stops the server (SIGTERM, SIGKILL after 10 s); `remove` also deletes the temp dir. */
  stop(remove?: boolean): Promise<void>;
  /** Starts the stopped server again on the same datadir and socket. */
  restart(): Promise<void>;
}

const SEARCH = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

function which(names: string[]): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...SEARCH];
  for (const name of names) {
    for (const dir of dirs) {
      const p = path.join(dir, name);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

const INSTALL_HINT = 'run scripts/install-test-deps.sh as root (Debian: mariadb-server mariadb-client php8.2-mysql)';

/** The binaries, or why the database tests cannot run here. */
export function findMariaDb(): MariaDbBinaries | string {
  const server = which(['mariadbd', 'mysqld']);
  const installDb = which(['mariadb-install-db', 'mysql_install_db']);
  const client = which(['mariadb', 'mysql']);
  if (server && installDb && client) return { server, installDb, client };
  const missing = [server ? '' : 'mariadbd', installDb ? '' : 'mariadb-install-db', client ? '' : 'mariadb (client)'].filter(Boolean);
  return `MariaDB is not installed (${missing.join(', ')} not found): ${INSTALL_HINT}`;
}

/** Whether phpasync's embedded PHP has pdo_mysql and mysqli; a reason when it has not. */
export async function phpMysqlMissing(): Promise<string | undefined> {
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-ext-')), 'ext.php');
  fs.writeFileSync(script, '<?php echo implode(",", array_filter(["pdo_mysql", "mysqli"], fn ($e) => !extension_loaded($e)));');
  try {
    const { stdout } = await run(process.execPath, [CLI, 'php-cli', script]);
    const missing = stdout.trim();
    return missing ? `phpasync's PHP lacks ${missing}: ${INSTALL_HINT}` : undefined;
  } finally {
    fs.rmSync(path.dirname(script), { recursive: true, force: true });
  }
}

/** What to pass to describe.skipIf / it.skipIf: undefined when the tests can run. */
export async function mariaDbSkipReason(): Promise<string | undefined> {
  const bin = findMariaDb();
  if (typeof bin === 'string') return bin;
  return phpMysqlMissing();
}

const isRoot = (): boolean => process.getuid?.() === 0;

async function sqlAs(client: string, socket: string, statements: string, database?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ['--no-defaults', `--socket=${socket}`, '--user=root', '--batch', '--skip-column-names', ...(database ? [database] : [])];
    const p = spawn(client, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`mariadb client exited with ${code}: ${err.trim()}`))));
    p.stdin.end(statements);
  });
}

export interface StartOptions {
  /** SQL run in the test schema once the server is up (tables, rows). */
  schema?: string;
}

/**
 * Initialises a datadir in a fresh temp dir and starts mariadbd on a unix socket there; makes
 * the schema `phpasync_test` and the user `phpasync`@`localhost` (password auth) owning it.
 */
export async function startMariaDb(opts: StartOptions = {}): Promise<MariaDb> {
  const bin = findMariaDb();
  if (typeof bin === 'string') throw new Error(bin);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-mariadb-'));
  const datadir = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const errLog = path.join(dir, 'error.log');
  // mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
  const asUser = isRoot() ? ['--user=root'] : [];
  try {
    await run(bin.installDb, ['--no-defaults', `--datadir=${datadir}`, ...asUser, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'], {
      cwd: dir,
    });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }

  let proc: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  const start = async (): Promise<void> => {
    const p = spawn(
      bin.server,
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--socket=${socket}`,
        `--pid-file=${path.join(dir, 'mysqld.pid')}`,
        `--log-error=${errLog}`,
        '--skip-networking',
        ...asUser,
        '--max-connections=2000',
        // A test database: small, and no fsync per commit.
        '--innodb-buffer-pool-size=32M',
        '--innodb-flush-log-at-trx-commit=0',
        '--skip-innodb-doublewrite',
      ],
      { stdio: 'ignore' },
    );
    proc = p;
    exited = new Promise((resolve) => p.once('exit', (code) => resolve(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    const until = Date.now() + 30_000;
    for (;;) {
      if (gone) throw new Error(`mariadbd exited during startup:\n${readLog(errLog)}`);
      try {
        await sqlAs(bin.client, socket, 'SELECT 1');
        return;
      } catch (err) {
        if (Date.now() > until) {
          p.kill('SIGKILL');
          throw new Error(`mariadbd did not accept connections on ${socket} within 30 s (${(err as Error).message}):\n${readLog(errLog)}`);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async (remove = true): Promise<void> => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (remove) fs.rmSync(dir, { recursive: true, force: true });
  };
  running.add(stop);

  const user = 'phpasync';
  const password = 'phpasync-test-pw';
  const database = 'phpasync_test';
  try {
    await start();
    await sqlAs(
      bin.client,
      socket,
      `CREATE DATABASE ${database};
       CREATE USER '${user}'@'localhost' IDENTIFIED BY '${password}';
       GRANT ALL ON ${database}.* TO '${user}'@'localhost';`,
    );
    if (opts.schema) await sqlAs(bin.client, socket, opts.schema, database);
  } catch (err) {
    await stop();
    running.delete(stop);
    throw err;
  }
  return {
    dir,
    socket,
    user,
    password,
    database,
    env: { PHPASYNC_DB_SOCKET: socket, PHPASYNC_DB_USER: user, PHPASYNC_DB_PASS: password, PHPASYNC_DB_NAME: database },
    sql: (statements, db = database) => sqlAs(bin.client, socket, statements, db),
    stop: async (remove = true) => {
      await stop(remove);
      if (remove) running.delete(stop);
    },
    restart: start,
  };
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no error log)';
  }
}

// Servers a test file left running (it threw before stop()): stopped by stopRunningMariaDbs().
const running = new Set<(remove?: boolean) => Promise<void>>();

/** Stops every MariaDB this process started that is still running. */
export async function stopRunningMariaDbs(): Promise<void> {
  await Promise.all([...running].map((stop) => stop(true)));
  running.clear();
}
