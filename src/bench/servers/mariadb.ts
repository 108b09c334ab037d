// A private MariaDB: Debian's mariadbd started as the current user with its own datadir and
// unix socket in a directory the caller owns (no TCP port, no system service, nothing under
// /etc or /var touched), one schema and one password user made for the run, stopped after.
// Used by `phpasync bench` (the php-db scenarios) and the database tests (test/helpers/mariadb.ts).
// scripts/install-test-deps.sh installs the server and PHP's MySQL drivers.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PhpasyncError } from '../../server/errors.js';

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
  /** PHPASYNC_DB_* for PHP workers and scripts that connect to it. */
  env: Record<string, string>;
  /** Runs SQL as root through the client; resolves with its tab-separated output. */
  sql(statements: string, database?: string): Promise<string>;
  /** Stops the server (SIGTERM, SIGKILL after 10 s); the datadir stays for restart(). */
  stop(): Promise<void>;
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

export const MARIADB_INSTALL_HINT = 'run scripts/install-test-deps.sh as root (Debian: mariadb-server mariadb-client php8.2-mysql)';

/** The binaries, or a sentence saying which are missing. */
export function findMariaDb(): MariaDbBinaries | string {
  const server = which(['mariadbd', 'mysqld']);
  const installDb = which(['mariadb-install-db', 'mysql_install_db']);
  const client = which(['mariadb', 'mysql']);
  if (server && installDb && client) return { server, installDb, client };
  const missing = [server ? '' : 'mariadbd', installDb ? '' : 'mariadb-install-db', client ? '' : 'mariadb (client)'].filter(Boolean);
  return `MariaDB is not installed (${missing.join(', ')} not found): ${MARIADB_INSTALL_HINT}`;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** The caller's environment without preloads: under scripts/test-asan.sh the sanitizer runtime
 * is in LD_PRELOAD, and MariaDB's binaries are not what is being tested (mariadbd crashed). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['LD_PRELOAD'];
  return env;
}

function sqlAs(client: string, socket: string, statements: string, database?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ['--no-defaults', `--socket=${socket}`, '--user=root', '--batch', '--skip-column-names', ...(database ? [database] : [])];
    const p = spawn(client, args, { stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv() });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', reject);
    // A client that exits first (no server yet) closes its stdin: EPIPE here, its status below.
    p.stdin.on('error', () => {});
    p.once('close', (code) => (code === 0 ? resolve(out) : reject(new PhpasyncError('PHPASYNC_BENCH_DB_SQL', [String(code), err.trim()]))));
    p.stdin.end(statements);
  });
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no error log)';
  }
}

export interface MariaDbOptions {
  /** SQL run in the schema once the server is up (tables, rows). */
  schema?: string;
  /** Extra mariadbd options (`--name=value`). */
  serverArgs?: string[];
}

/**
 * Initialises a datadir under `dir` (which must exist and be empty of a previous run) and starts
 * mariadbd on `dir`/mysqld.sock; makes the schema `phpasync_test` and the user
 * `phpasync`@`localhost` (password auth) owning it. On failure everything started is stopped.
 */
export async function startMariaDb(bin: MariaDbBinaries, dir: string, opts: MariaDbOptions = {}): Promise<MariaDb> {
  const datadir = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const errLog = path.join(dir, 'error.log');
  // mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
  const asUser = isRoot() ? ['--user=root'] : [];
  try {
    await run(bin.installDb, ['--no-defaults', `--datadir=${datadir}`, ...asUser, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'], { cwd: dir, env: cleanEnv() });
  } catch (err) {
    throw new PhpasyncError('PHPASYNC_BENCH_DB_INIT', [(err as { stderr?: string }).stderr ?? String(err)]);
  }

  let proc: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const stop = async (): Promise<void> => {
    const p = proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
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
        // Throwaway data: a small buffer pool, no fsync per commit.
        '--innodb-buffer-pool-size=32M',
        '--innodb-flush-log-at-trx-commit=0',
        '--skip-innodb-doublewrite',
        ...(opts.serverArgs ?? []),
      ],
      { stdio: 'ignore', env: cleanEnv() },
    );
    proc = p;
    let gone = false;
    // A run that ends without stop() (a test that timed out, Ctrl-C) must not leave it behind.
    const killOnExit = (): void => void p.kill('SIGKILL');
    process.once('exit', killOnExit);
    exited = new Promise<void>((resolve) =>
      p.once('exit', () => {
        gone = true;
        process.off('exit', killOnExit);
        resolve();
      }),
    );
    const until = Date.now() + 30_000;
    for (;;) {
      if (gone) throw new PhpasyncError('PHPASYNC_BENCH_DB_EXITED', [tail(errLog)]);
      try {
        await sqlAs(bin.client, socket, 'SELECT 1');
        return;
      } catch (err) {
        if (Date.now() > until) {
          await stop();
          throw new PhpasyncError('PHPASYNC_BENCH_DB_START', [socket, 30, (err as Error).message, tail(errLog)]);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

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
    stop,
    restart: start,
  };
}
