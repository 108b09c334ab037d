// PDO and mysqli through phpasync against a real MariaDB (test/helpers/mariadb.ts), over real
// HTTP: mysqlnd reads and writes through PHP streams, so a query suspends its coroutine and the
// others go on. Here: queries of concurrent requests overlap, and a connection's transaction
// and prepared statements stay its own across suspensions while other requests interleave.
// Interrupted queries: db-interrupt.test.ts; bad credentials and dead servers: db-errors.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { get, TX_SCHEMA } from './helpers/db-http.js';
import { mariaDbSkipReason, startMariaDb, type MariaDb } from './helpers/mariadb.js';
import { startServer, type RunningServer } from './helpers/server.js';

const skip = await mariaDbSkipReason();
if (skip) console.warn(`db.test.ts skipped: ${skip}`);

describe.skipIf(skip !== undefined)('PDO and mysqli against MariaDB', () => {
  let db: MariaDb;
  let server: RunningServer;

  beforeAll(async () => {
    db = await startMariaDb({ schema: TX_SCHEMA });
    // A ring larger than the 100 concurrent requests: this file is about overlap, not 503s.
    server = await startServer({ worker: 'db.php', env: db.env, bufferSize: 200 });
    // The first burst also creates 100 fibers and compiles the worker's code paths: not part of
    // what the overlap bound is about (under AddressSanitizer it took seconds).
    await Promise.all(Array.from({ length: 100 }, (_, i) => get(server, `/${i % 2 ? 'pdo' : 'mysqli'}/sleep?s=0`)));
  });
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    if (db) await db.stop();
  });

  for (const driver of ['pdo', 'mysqli']) {
    it(`${driver}: 100 concurrent SELECT SLEEP(0.05), each on its own connection, overlap on one PHP thread`, async () => {
      const n = 100;
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: n }, () => get(server, `/${driver}/sleep?s=0.05`)));
      const elapsed = performance.now() - t0;
      expect(answers.filter((a) => a.status !== 200 || a.body !== `${driver} 0`)).toEqual([]);
      // Overlap bound: one after the other they take n × 50 ms = 5 s; overlapped, 0.15-0.26 s
      // here (2 s under AddressSanitizer, where 100 connects cost that much CPU).
      expect(elapsed).toBeLessThan((n * 50) / 2);
    });

    it(`${driver}: interleaved transactions each see only their own uncommitted row, on one connection throughout`, async () => {
      const tags = Array.from({ length: 10 }, (_, i) => `${driver}-t${i}`);
      const answers = await Promise.all(tags.map((t) => get(server, `/${driver}/tx?tag=${t}`)));
      expect(answers.map((a) => a.status)).toEqual(tags.map(() => 200));
      expect(answers.map((a) => JSON.parse(a.body))).toEqual(tags.map((t) => ({ same: true, seen: t })));
      // Every transaction was rolled back.
      expect((await db.sql('SELECT COUNT(*) FROM tx_rows')).trim()).toBe('0');
    });

    it(`${driver}: prepared statements re-executed across suspensions return their own parameters`, async () => {
      const vs = Array.from({ length: 20 }, (_, i) => i * 100);
      const answers = await Promise.all(vs.map((v) => get(server, `/${driver}/prepared?v=${v}`)));
      expect(answers).toEqual(vs.map((v) => ({ status: 200, body: `${(v + 1) * 10},${(v + 2) * 10},${(v + 3) * 10}` })));
    });
  }
});
