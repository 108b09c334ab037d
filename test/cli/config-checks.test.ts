// validate and run share one check (runnableProblems): what run refuses, validate refuses with
// the same words and exit 2. Covers the checks that need the linked PHP (NTS: num 1), static
// files in php_server (not built yet) and the TrueAsync worker subdirectives.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, fixtures, phpasync, repo } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-checks-'));
beforeAll(buildOnce, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const entrypoint = path.join(fixtures, 'examples/async_entrypoint.php');

function caddyfile(worker: string, site: string, global = ''): string {
  const d = fs.mkdtempSync(path.join(tmp, 'case-'));
  fs.writeFileSync(
    path.join(d, 'Caddyfile'),
    `{\n${global}\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${entrypoint}\n\t\t\tasync\n${worker}\t\t}\n\t}\n}\n\nhttp://127.0.0.1:0 {\n${site}}\n`,
  );
  return d;
}

const OFF = '\tphp_server {\n\t\tfile_server off\n\t}\n';

async function isNts(): Promise<boolean> {
  const r = await phpasync(['version']);
  return /\(NTS\)/.test(r.stdout);
}

describe('validate runs the checks run does', () => {
  it('num 2 and processes 2 on an NTS PHP: validate and run both exit 2 with the same message', async () => {
    if (!(await isNts())) return; // a ZTS PHP runs num 2
    const d = caddyfile('\t\t\tnum 2\n', OFF, '\tprocesses 2\n');
    const v = await phpasync(['validate'], { cwd: d });
    const r = await phpasync(['run'], { cwd: d });
    expect(v.code).toBe(2);
    expect(v.stdout).toBe('');
    expect(v.stderr).toBe(
      "Caddyfile:4:3: this PHP is NTS (not thread-safe): one PHP thread per process, so num 2 means 2 processes; with the global option processes 2 set, num must be 1\n",
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(v.stderr);
    const a = await phpasync(['adapt', '--validate'], { cwd: d });
    expect(a.code).toBe(2);
    expect(a.stderr).toBe(v.stderr);
  });

  it('num above what the addon starts is refused by validate', async () => {
    const d = caddyfile('\t\t\tnum 300\n', OFF);
    const v = await phpasync(['validate'], { cwd: d });
    expect(v.code).toBe(2);
    expect(v.stderr).toBe('Caddyfile:3:3: worker num must be at most 256, got 300\n');
  });

  it('the repository Caddyfile.async is valid', async () => {
    const v = await phpasync(['validate', '--config', path.join(repo, 'Caddyfile.async')]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
  });
});

describe('php_server with its file server (test/front-files.test.ts serves through it)', () => {
  it('is accepted with or without a worker match, and with file_server off', async () => {
    for (const [worker, site] of [
      ['\t\t\tmatch /api/*\n', '\tphp_server\n'],
      ['', '\tphp_server {\n\t\tindex off\n\t}\n'],
      ['\t\t\tmatch /api/*\n', OFF],
      ['\t\t\tmatch *\n', '\tphp_server\n'],
      ['\t\t\tmatch /*\n', '\tphp_server\n'],
    ] as const) {
      const r = await phpasync(['validate'], { cwd: caddyfile(worker, site) });
      expect(r.stderr, worker + site).toBe('');
      expect(r.code, worker + site).toBe(0);
    }
  });
});

describe('worker subdirectives of the TrueAsync docs', () => {
  it('match /* is valid', async () => {
    const r = await phpasync(['validate'], { cwd: caddyfile('\t\t\tmatch /*\n', OFF) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('drain_timeout is refused with a pointer to the global option, by adapt, validate and run', async () => {
    const d = caddyfile('\t\t\tdrain_timeout 30s\n', OFF);
    for (const cmd of ['adapt', 'validate', 'run']) {
      const r = await phpasync([cmd], { cwd: d });
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toBe(
        'Caddyfile:6:4: worker drain_timeout is not supported yet: it bounds a graceful worker restart, which phpasync does not do; for how long in-flight requests may finish on SIGTERM/SIGINT, set the global option instead: { drain_timeout 30s }\n',
      );
    }
  });

  it('a narrow match with a rewrite is accepted (the match is tested on the rewritten path, test/front-rewrite.test.ts)', async () => {
    const d = caddyfile('\t\t\tmatch /api/*\n', `\trewrite * /index.php\n${OFF}`);
    const r = await phpasync(['validate'], { cwd: d });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('match patterns Caddy compares in escaped space are refused by name', async () => {
    const r = await phpasync(['adapt'], { cwd: caddyfile('\t\t\tmatch /a%2Fb\n', OFF) });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("Caddyfile:6:10: worker match: not supported yet: '/a%2Fb': percent-escapes in a worker match\n");
  });
});
