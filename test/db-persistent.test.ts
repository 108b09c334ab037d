// PDO::ATTR_PERSISTENT under concurrency: 60 requests at once, staggered, each opening a
// persistent PDO and holding it idle inside a transaction across a suspension. Each must see
// only its own row on one connection, the server must not crash or hang, connections made
// while others were held must be closed afterwards (one stays, the persistent one), and a
// persistent connection must still be reused by requests that come one after the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { get, sleep, TX_SCHEMA } from './helpers/db-http.js';
import { mariaDbSkipReason, startMariaDb, type MariaDb } from './helpers/mariadb.js';
import { startServer, type RunningServer } from './helpers/server.js';

const skip = await mariaDbSkipReason();
if (skip) console.warn(`db-persistent.test.ts skipped: ${skip}`);

describe.skipIf(skip !== undefined)('PDO persistent connections under concurrency', () => {
  let db: MariaDb;
  let server: RunningServer;

  beforeAll(async () => {
    db = await startMariaDb({ schema: TX_SCHEMA });
    server = await startServer({ worker: 'db.php', env: db.env, bufferSize: 200, workerExtra: 'request_timeout 10s' });
  });
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    if (db) await db.stop();
  });

  const appConnections = async (): Promise<number> =>
    Number((await db.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER='phpasync'")).trim());

  it('60 concurrent holders: own rows, one connection each throughout, surplus connections closed after', async () => {
    for (let round = 0; round < 3; round++) {
      const tags = Array.from({ length: 60 }, (_, i) => `r${round}-${i}`);
      const answers = await Promise.all(
        tags.map(async (t, i) => {
          await sleep((i % 7) * 10);
          return get(server, `/pdo/persistent-tx?tag=${t}&ms=${(i % 5) * 20}`);
        }),
      );
      expect(answers.filter((a, i) => a.status !== 200 || a.body !== JSON.stringify({ conn: JSON.parse(a.body).conn, seen: tags[i] }))).toEqual([]);
      expect(answers.every((a) => typeof JSON.parse(a.body).conn === 'number')).toBe(true);
      // The server sees a closed connection a moment after the client closed it.
      let open = await appConnections();
      for (let i = 0; i < 100 && open > 1; i++) {
        await sleep(50);
        open = await appConnections();
      }
      expect(open).toBeLessThanOrEqual(1);
    }
    const [a, b] = [await get(server, '/pdo/persistent?s=0&tag=a'), await get(server, '/pdo/persistent?s=0&tag=b')];
    const id = /^a (\d+) \1$/.exec(a.body)?.[1];
    expect(id, a.body).toBeDefined();
    expect(b.body).toBe(`b ${id} ${id}`);
  }, 60_000);
});
