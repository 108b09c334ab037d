// CLI commands that need the native addon (build/Release/phpasync.node) and libphp:
// run, php-server, php-cli and version. Skipped when the addon is not built.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, fixtures, freePort, phpasync, repo, serveAndFetch } from './helpers.js';

const addon = path.join(repo, 'build/Release/phpasync.node');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-cli-native-'));
beforeAll(buildOnce, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const entrypoint = path.join(fixtures, 'examples/async_entrypoint.php');

describe.skipIf(!fs.existsSync(addon))('with the native addon', () => {
  it('version prints phpasync, PHP, scheduler, OPcache/JIT, exit 0', async () => {
    const r = await phpasync(['version']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^phpasync \d+\.\d+\.\d+ \(Node v\d+/);
    expect(lines[1]).toMatch(/^PHP \d+\.\d+\.\d+\S* \((NTS|ZTS)\)$/);
    expect(lines[2]).toMatch(/^scheduler: \S/);
    expect(lines[3]).toMatch(/^OPcache: (on|off), JIT: (on|off)$/);
  });

  it('version names a PHPASYNC_ADDON that does not exist and exits non-zero', async () => {
    const r = await phpasync(['version'], { env: { PHPASYNC_ADDON: '/nonexistent/phpasync.node' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('PHPASYNC_ADDON names /nonexistent/phpasync.node, which does not exist');
  });

  it('php-cli passes the script exit code through', async () => {
    const script = path.join(tmp, 'exit.php');
    fs.writeFileSync(script, '<?php echo implode(",", array_slice($argv, 1)); exit(7);');
    const r = await phpasync(['php-cli', script, 'a', '--b']);
    expect(r.stdout).toBe('a,--b');
    expect(r.code).toBe(7);
  });

  it('php-cli exits 0 after a script that ends normally', async () => {
    const script = path.join(tmp, 'ok.php');
    fs.writeFileSync(script, '<?php echo "fine";');
    const r = await phpasync(['php-cli', script]);
    expect(r.stdout).toBe('fine');
    expect(r.code).toBe(0);
  });

  it('run serves the guide-shaped Caddyfile and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const d = fs.mkdtempSync(path.join(tmp, 'run-'));
    fs.writeFileSync(
      path.join(d, 'Caddyfile'),
      `{\n\tfrankenphp {\n\t\tnum_threads 2\n\t\tworker {\n\t\t\tfile ${entrypoint}\n\t\t\tnum 1\n\t\t\tasync\n\t\t\tbuffer_size 20\n\t\t\tmatch *\n\t\t}\n\t}\n}\n\nhttp://127.0.0.1:${port} {\n\troot * ${path.dirname(entrypoint)}\n\troute {\n\t\trewrite * /async_entrypoint.php?uri={http.request.uri.path}\n\t\tphp_server {\n\t\t\tindex off\n\t\t\tfile_server off\n\t\t}\n\t}\n}\n`,
    );
    const r = await serveAndFetch(['run'], `http://127.0.0.1:${port}/`, d);
    expect(r.status).toBe(200);
    expect(r.body).toBe('ok');
    expect(r.exit.code).toBe(0);
  }, 40_000);

  it('php-server --worker --async serves through the worker and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const r = await serveAndFetch(
      ['php-server', '--listen', `127.0.0.1:${port}`, '--root', path.dirname(entrypoint), '--worker', entrypoint, '--async', '--buffer-size', '10'],
      `http://127.0.0.1:${port}/anything`,
      tmp,
    );
    expect(r.status).toBe(200);
    expect(r.body).toBe('ok');
    expect(r.exit.code).toBe(0);
  }, 40_000);
});
