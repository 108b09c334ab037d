// Classic scripts on several PHP threads in one process (`num_threads 2` on a thread-safe PHP):
// two scripts run at once, each in a PHP request of its own that the other never sees. Needs
// the addon built against a ZTS PHP: scripts/test-zts.sh runs this file with
// PHPASYNC_ZTS_ADDON set; without it the file is skipped, saying why.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request } from './helpers/request.js';
import { ROOT, runCaddyfile, tempDir } from './helpers/server.js';

const ADDON = process.env.PHPASYNC_ZTS_ADDON ?? '';
const why = ADDON ? '' : 'PHPASYNC_ZTS_ADDON is not set: these tests need the addon built against a thread-safe PHP (run scripts/test-zts.sh)';
if (!ADDON) console.warn(`test/zts-classic-scripts.test.ts skipped: ${why}`);

const APP = path.join(ROOT, 'test/fixtures/classic-app');

describe.skipIf(!ADDON)('classic scripts on two PHP threads', () => {
  let server: Awaited<ReturnType<typeof runCaddyfile>>;
  let port: number;
  let work: string;

  beforeAll(async () => {
    work = tempDir();
    const prev = process.env.PHPASYNC_ADDON;
    process.env.PHPASYNC_ADDON = ADDON; // inherited by the server runCaddyfile spawns
    try {
      server = await runCaddyfile(`{\n\tfrankenphp {\n\t\tnum_threads 2\n\t}\n}\nhttp://127.0.0.1:0 {\n\troot * ${APP}\n\tphp_server\n}\n`, 1);
    } finally {
      if (prev === undefined) delete process.env.PHPASYNC_ADDON;
      else process.env.PHPASYNC_ADDON = prev;
    }
    const line = server.output.find((l) => l.includes('Server listening at'))!;
    port = Number(/:(\d+)"?,?/.exec(line.slice(line.indexOf('Server listening at')))![1]);
  });

  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it('serves B while A runs, with none of A\'s state', async () => {
    const marker = path.join(work, 'marker');
    // A sets its state (globals, a constant, ini, a header, a status, a buffer), flushes and
    // waits: once its first chunk arrived, it runs on one of the two threads.
    const a = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const q = `set=1&flush=1&marker=${encodeURIComponent(marker)}`;
      http.get({ host: '127.0.0.1', port, path: `/state?${q}`, agent: false }, resolve).on('error', reject);
    });
    await new Promise<void>((resolve) => a.once('data', () => resolve()));
    let aEnded = false;
    const aEnd = new Promise<void>((resolve) => {
      a.on('end', () => {
        aEnded = true;
        resolve();
      });
      a.resume();
    });
    // Requests go round-robin over the threads' rings: B lands on the other thread. With one
    // thread B would wait for A, which waits for a marker nobody has written yet.
    const b = await request(port, '/state?b=1');
    expect(aEnded).toBe(false);
    expect(b.status).toBe(200);
    expect(b.headers['x-leak']).toBeUndefined();
    expect(JSON.parse(b.body.toString())).toMatchObject({ global: null, const: false, static: 1, precision: '14', code: 200, get: { b: '1' } });
    expect(a.statusCode).toBe(201);
    fs.writeFileSync(marker, '');
    await aEnd;
  });
});
