// `phpasync bench`'s database scenarios: a short real run against a private MariaDB, every 2xx
// body checked ("ok" = the row read was the row asked for), and the configs they generate.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import type { BenchReport, ScenarioResult } from '../src/bench/result.js';
import { DB_FPM_CHILDREN } from '../src/bench/servers/db.js';
import { findNginxFpm, fpmConfig, nginxConfig } from '../src/bench/servers/nginx-fpm.js';
import { mariaDbSkipReason } from './helpers/mariadb.js';
import { runCli, tempDir } from './helpers/server.js';

const skip = await mariaDbSkipReason();
if (skip) console.warn(`bench-db.test.ts skipped: ${skip}`);

describe('bench: database configs', () => {
  it('php-fpm gets cores × 4 static children and the database environment; nginx runs the given script', () => {
    const c = fpmConfig('/tmp/x', DB_FPM_CHILDREN, { PHPASYNC_DB_SOCKET: '/tmp/db/mysqld.sock' });
    expect(c).toContain(`pm = static\npm.max_children = ${DB_FPM_CHILDREN}\n`);
    expect(c).toContain('env[PHPASYNC_DB_SOCKET] = /tmp/db/mysqld.sock\n');
    expect(nginxConfig('/tmp/x', 8123, '/srv/db-fpm.php')).toContain('fastcgi_param SCRIPT_FILENAME /srv/db-fpm.php;');
  });
});

describe.skipIf(skip !== undefined)('bench: php-db, a real run', () => {
  it('measures php-db and php-db-pool against nginx + php-fpm on a private MariaDB', async () => {
    const file = path.join(tempDir(), 'bench.json');
    const { code, out } = await runCli(['bench', '--duration', '1', '--scenario', 'php-db,php-db-pool', '--json', file]);
    expect(code, out).toBe(0);
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport;
    const by = new Map(r.results.map((x) => [x.scenario, x]));
    expect([...by.keys()]).toEqual(['nginx-fpm-db', 'php-db', 'nginx-fpm-db-persistent', 'php-db-pool']);
    const fpm = typeof findNginxFpm() !== 'string';
    for (const x of r.results as ScenarioResult[]) {
      if (x.scenario.startsWith('nginx') && !fpm) {
        expect(x).toMatchObject({ status: 'skipped' });
        continue;
      }
      expect(x.status, x.reason).toBe('ok');
      const m = x.measurement!;
      expect(m.connections).toBe(100);
      expect(m.accepted).toBeGreaterThan(0);
      expect(m.errors).toBe(0);
      expect(m.mismatches - m.non2xx).toBeLessThanOrEqual(0); // every 2xx said "ok"
      expect(Object.keys(m.statusCodes).filter((s) => s !== '200' && s !== '503')).toEqual([]);
    }
    if (fpm) {
      expect(by.get('php-db')!.ratio).toBeGreaterThan(0);
      expect(by.get('php-db-pool')!.ratio).toBeGreaterThan(0);
    }
  }, 120_000);
});
