// `validate` and `adapt --validate` check a config without loading the server: Fastify (and so
// everything under src/server/ that needs it) stays unloaded. A module-resolution hook refuses
// the `fastify` import in the child process; `run` on the same config shows that the hook bites.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, fixtures, phpasync, repo } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-validate-light-'));
const entrypoint = path.join(fixtures, 'examples/async_entrypoint.php');
const caddyfile = path.join(tmp, 'Caddyfile');
const noFastify = { NODE_OPTIONS: `--import=${pathToFileURL(path.join(tmp, 'register.mjs')).href}` };

beforeAll(() => {
  buildOnce();
  fs.writeFileSync(
    path.join(tmp, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  if (specifier === 'fastify' || specifier.startsWith('fastify/')) throw new Error('refused by the test: fastify was imported');
  return next(specifier, context);
}\n`,
  );
  fs.writeFileSync(path.join(tmp, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
  fs.writeFileSync(
    caddyfile,
    `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${entrypoint}\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\n\nhttp://127.0.0.1:0 {\n\troute {\n\t\tphp_server {\n\t\t\tfile_server off\n\t\t}\n\t}\n}\n`,
  );
}, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!fs.existsSync(path.join(repo, 'build/Release/phpasync.node')))('validating does not load the server', () => {
  it('validate passes a runnable config with fastify unloadable', async () => {
    const r = await phpasync(['validate', '--config', caddyfile], { env: noFastify });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Valid configuration\n');
    expect(r.code).toBe(0);
  });

  it('adapt --validate too', async () => {
    const r = await phpasync(['adapt', '--validate', '--config', caddyfile], { env: noFastify });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('validate still reports what the runtime refuses', async () => {
    const bad = path.join(tmp, 'Caddyfile.bad');
    fs.writeFileSync(bad, fs.readFileSync(caddyfile, 'utf8').replace('\tfrankenphp {\n', '\tfrankenphp {\n\t\tmax_threads 4\n'));
    const r = await phpasync(['validate', '--config', bad], { env: noFastify });
    expect(r.stderr).toContain('not supported yet: frankenphp max_threads');
    expect(r.code).toBe(2);
  });

  it('run, which needs the server, fails on the refused import (the hook works)', async () => {
    const r = await phpasync(['run', '--config', caddyfile], { env: noFastify });
    expect(r.stderr).toContain('refused by the test: fastify was imported');
    expect(r.code).toBe(1);
  });
});
