// Bad input for the database drivers: wrong credentials, a server that is down, one that
// accepts and never answers. Each must end in a clear PHP exception (answered 500 by the
// fixture with its message) or the request timeout, never a hang, and never harm the requests
// running beside it.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { get } from './helpers/db-http.js';
import { mariaDbSkipReason, startMariaDb, type MariaDb } from './helpers/mariadb.js';
import { startServer, tempDir, type RunningServer } from './helpers/server.js';

const skip = await mariaDbSkipReason();
if (skip) console.warn(`db-errors.test.ts skipped: ${skip}`);

describe.skipIf(skip !== undefined)('database errors', () => {
  let db: MariaDb;
  let server: RunningServer;

  beforeAll(async () => {
    db = await startMariaDb();
    server = await startServer({ worker: 'db.php', env: db.env, workerExtra: 'request_timeout 1s' });
  });
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    if (db) await db.stop();
  });

  const connect = (driver: string, socket: string, user: string, pass: string): Promise<{ status: number; body: string }> =>
    get(server, `/${driver}/connect?` + new URLSearchParams({ socket, user, pass }).toString());

  it('wrong credentials: PDOException and mysqli_sql_exception saying access denied', async () => {
    expect(await connect('pdo', db.socket, db.user, db.password)).toEqual({ status: 200, body: 'connected 1' });
    expect(await connect('pdo', db.socket, db.user, 'wrong')).toEqual({
      status: 500,
      body: `error PDOException: SQLSTATE[HY000] [1045] Access denied for user '${db.user}'@'localhost' (using password: YES)`,
    });
    expect(await connect('mysqli', db.socket, 'nobody', 'x')).toEqual({
      status: 500,
      body: `error mysqli_sql_exception: Access denied for user 'nobody'@'localhost' (using password: YES)`,
    });
  });

  it('no server on the socket: a connection error at once, for PDO and mysqli', async () => {
    const missing = path.join(tempDir(), 'none.sock');
    const pdo = await connect('pdo', missing, db.user, db.password);
    expect(pdo.status).toBe(500);
    expect(pdo.body).toBe('error PDOException: SQLSTATE[HY000] [2002] No such file or directory');
    const mysqli = await connect('mysqli', missing, db.user, db.password);
    expect(mysqli).toEqual({ status: 500, body: 'error mysqli_sql_exception: No such file or directory' });
  });

  it('the server stops and comes back: errors while it is down, answers again after', async () => {
    expect(await get(server, '/pdo/sleep?s=0')).toEqual({ status: 200, body: 'pdo 0' });
    await db.stop(false);
    const down = await get(server, '/pdo/sleep?s=0');
    expect(down.status).toBe(500);
    expect(down.body).toMatch(/^error PDOException: SQLSTATE\[HY000\] \[2002\] /);
    const downMysqli = await get(server, '/mysqli/sleep?s=0');
    expect(downMysqli.status).toBe(500);
    expect(downMysqli.body).toMatch(/^error mysqli_sql_exception: /);
    await db.restart();
    expect(await get(server, '/pdo/sleep?s=0')).toEqual({ status: 200, body: 'pdo 0' });
    expect(await get(server, '/mysqli/sleep?s=0')).toEqual({ status: 200, body: 'mysqli 0' });
  });

  it('a server that accepts and never answers: request_timeout ends the connect (504); other requests go on meanwhile', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'mute.sock');
    const held: net.Socket[] = [];
    const mute = net.createServer((s) => held.push(s));
    await new Promise<void>((resolve) => mute.listen(socket, resolve));
    try {
      for (const driver of ['pdo', 'mysqli']) {
        const stuck = connect(driver, socket, db.user, db.password);
        // The PHP thread is not blocked by the stuck handshake.
        expect(await get(server, `/${driver}/sleep?s=0`)).toEqual({ status: 200, body: `${driver} 0` });
        expect(await stuck).toEqual({ status: 504, body: 'Gateway Timeout\n' });
      }
      expect(held.length).toBe(2);
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skip !== undefined)('database errors: mysqlnd.net_read_timeout', () => {
  it('a server that never answers: with php_ini mysqlnd.net_read_timeout the connect throws 2006 before request_timeout', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'mute.sock');
    const held: net.Socket[] = [];
    const mute = net.createServer((s) => held.push(s));
    await new Promise<void>((resolve) => mute.listen(socket, resolve));
    // PDO::ATTR_TIMEOUT is the connect timeout only: the handshake read waits for
    // mysqlnd.net_read_timeout (86400 s by default), so here only request_timeout would end it.
    const server = await startServer({ worker: 'db.php', globalExtra: 'php_ini mysqlnd.net_read_timeout 1', workerExtra: 'request_timeout 30s' });
    try {
      const q = (driver: string): string => `/${driver}/connect?` + new URLSearchParams({ socket, user: 'u', pass: 'p' }).toString();
      expect(await get(server, q('pdo'))).toEqual({ status: 500, body: 'error PDOException: SQLSTATE[HY000] [2006] MySQL server has gone away' });
      expect(await get(server, q('mysqli'))).toEqual({ status: 500, body: 'error mysqli_sql_exception: MySQL server has gone away' });
    } finally {
      expect(await server.stop()).toBe(0);
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
