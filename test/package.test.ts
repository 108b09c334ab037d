// The npm package as a user gets it: `npm pack` of this checkout, installed into a new app
// (the addon is compiled by the package's install script against this machine's PHP), then a
// request served through the installed CLI and the plugin imported through the exports map.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, startServer, tempDir, type RunningServer } from './helpers/server.js';

// Packing and compiling the addon take minutes on two busy cores.
const SLOW = 15 * 60_000;

let app = '';
let installLog = '';

function run(cmd: string, args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

beforeAll(() => {
  const dir = tempDir();
  // dist/ is already compiled (npm test's pretest); --ignore-scripts keeps prepack from
  // rewriting it under the other test files' running servers.
  const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
  expect(pack.code, pack.out).toBe(0);
  const tarball = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'));
  expect(tarball, pack.out).toBeDefined();
  app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The dependencies come from npm's cache when this machine has run `npm ci` already.
  const install = run('npm', ['install', '--foreground-scripts', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tarball!)], app);
  installLog = install.out;
  expect(install.code, install.out).toBe(0);
}, SLOW);

describe('npm package', () => {
  it('ships what a server needs and nothing of the checkout', () => {
    const pkg = path.join(app, 'node_modules/phpasync');
    expect(fs.existsSync(path.join(pkg, 'build/Release/phpasync.node')), installLog).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist/src/cli/main.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist/src/server/plugin.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'LICENSE'))).toBe(true);
    for (const absent of ['test', 'tsconfig.json', 'src/server', '.ci']) {
      expect(fs.existsSync(path.join(pkg, absent)), absent).toBe(false);
    }
    expect(installLog).toContain('addon built');
  });

  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('serves a request through the installed CLI', async () => {
    server = await startServer({
      cli: path.join(app, 'node_modules/phpasync/dist/src/cli/main.js'),
      workerSource: `<?php
use FrankenPHP\\HttpServer;
HttpServer::onRequest(function ($req, $res) {
    $res->setHeader('Content-Type', 'text/plain');
    $res->write('installed ' . PHP_VERSION);
    $res->end();
});`,
    });
    const res = await fetch(`${server.url}/x`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`installed ${spawnSync('php', ['-r', 'echo PHP_VERSION;'], { encoding: 'utf8' }).stdout}`);
  });

  it('exports the plugin, its types and the CLI bin', () => {
    const probe = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('phpasync'); const p = await import('phpasync/package.json', { with: { type: 'json' } }); console.log(typeof m.default, typeof m.phpasync, p.default.name);",
      ],
      app,
    );
    expect(probe.out.trim()).toBe('function function phpasync');
    expect(fs.existsSync(path.join(app, 'node_modules/.bin/phpasync'))).toBe(true);
    const version = run(path.join(app, 'node_modules/.bin/phpasync'), ['version'], app);
    expect(version.code, version.out).toBe(0);
  });
});
