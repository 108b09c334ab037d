// The database scenarios of `phpasync bench`: real work against a private MariaDB, phpasync
// next to nginx + php-fpm doing the same queries (src/bench/php/db-common.php).

import type { Scenario } from './scenarios.js';
import { DB_FPM_CHILDREN, DB_ROWS } from './servers/db.js';

/** c of the database scenarios: what users run coroutines for. */
export const DB_CONNECTIONS = 100;
const WORK = `one indexed SELECT (primary key, ${DB_ROWS.toLocaleString('en-US')} rows) and one SELECT SLEEP(0.005) through PDO`;

export const DB_SCENARIOS: readonly Scenario[] = [
  {
    name: 'nginx-fpm-db',
    measures: `Yardstick for php-db: nginx + php-fpm (pm static, ${DB_FPM_CHILDREN} children = cores × 4); each request connects, then ${WORK}, at c=${DB_CONNECTIONS}.`,
    server: 'nginx-fpm-db',
    request: () => ({ path: '/db', expectBody: 'ok' }),
    connections: DB_CONNECTIONS,
  },
  {
    name: 'php-db',
    measures: `phpasync on a real database: each request connects, then ${WORK}, at c=${DB_CONNECTIONS}; one PHP thread.`,
    server: 'phpasync-db',
    request: () => ({ path: '/db', expectBody: 'ok' }),
    connections: DB_CONNECTIONS,
    reference: 'nginx-fpm-db',
  },
  {
    name: 'nginx-fpm-db-persistent',
    measures: `Yardstick for php-db-pool: as nginx-fpm-db with PDO::ATTR_PERSISTENT (one connection kept per php-fpm child).`,
    server: 'nginx-fpm-db',
    request: () => ({ path: '/db?persistent=1', expectBody: 'ok' }),
    connections: DB_CONNECTIONS,
  },
  {
    name: 'php-db-pool',
    measures: `As php-db, with connections reused from a pool the worker keeps (an array of idle PDO objects).`,
    server: 'phpasync-db',
    request: () => ({ path: '/db-pool', expectBody: 'ok' }),
    connections: DB_CONNECTIONS,
    reference: 'nginx-fpm-db-persistent',
  },
];
