// The phpasync command as users run it: help, adapt, validate and their exit codes.
// These need the compiled CLI; validate and adapt --validate also load the server module and
// the addon (to ask the linked PHP), which PHP itself is not started by.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCaddyfile } from '../../src/caddyfile/index.js';
import { buildOnce, fixtures, phpasync } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-cli-'));
beforeAll(buildOnce, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dir(files: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(tmp, 'case-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
  return d;
}

describe('help', () => {
  it('prints the commands with --help and with no arguments, exit 0', async () => {
    for (const args of [['--help'], [], ['help']]) {
      const r = await phpasync(args);
      expect(r.code).toBe(0);
      for (const c of ['run', 'adapt', 'validate', 'php-server', 'php-cli', 'version']) expect(r.stdout).toContain(`  ${c} `);
    }
  });

  it.each(['run', 'adapt', 'validate', 'php-server', 'php-cli', 'version'])('%s --help', async (cmd) => {
    const r = await phpasync([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`Usage: phpasync ${cmd}`)).toBe(true);
    const viaHelp = await phpasync(['help', cmd]);
    expect(viaHelp.stdout).toBe(r.stdout);
  });

  it('suggests a command for a typo, exit 2', async () => {
    const r = await phpasync(['adpat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("phpasync: unknown command 'adpat' (did you mean adapt?)\nRun 'phpasync --help' for the list of commands.\n");
  });

  it('rejects an unknown flag, exit 2', async () => {
    const r = await phpasync(['adapt', '--prety']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("phpasync: adapt: Unknown option '--prety'\nRun 'phpasync adapt --help' for usage.\n");
  });
});

describe('adapt', () => {
  it('prints the config as JSON, exit 0', async () => {
    const file = path.join(fixtures, 'guide.Caddyfile');
    const r = await phpasync(['adapt', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(loadCaddyfile(file).config)));
  });

  it('indents with --pretty', async () => {
    const r = await phpasync(['adapt', '--config', path.join(fixtures, 'guide.Caddyfile'), '--pretty']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('{\n  "configFile": ')).toBe(true);
  });

  it('reads ./Caddyfile by default', async () => {
    const d = dir({ Caddyfile: ':8080 {\n\trespond "hi"\n}\n' });
    const r = await phpasync(['adapt'], { cwd: d });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).configFile).toBe(path.join(fs.realpathSync(d), 'Caddyfile'));
  });

  it('says so when there is no Caddyfile, exit 2', async () => {
    const d = dir({});
    const r = await phpasync(['adapt'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`no Caddyfile in ${fs.realpathSync(d)}; pass one with --config FILE\n`);
  });

  it('names a missing --config file, exit 2', async () => {
    const r = await phpasync(['adapt', '--config', '/nonexistent/Caddyfile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('config file not found: /nonexistent/Caddyfile\n');
  });

  it('reports a config error as FILE:LINE:COL relative to the working directory, exit 2', async () => {
    const d = dir({ Caddyfile: ':8080 {\n\tphp_server {\n\t\tfile_servr off\n\t}\n}\n' });
    const r = await phpasync(['adapt'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "Caddyfile:3:3: php_server: unrecognized subdirective 'file_servr' (did you mean file_server?); allowed: root, index, file_server, worker, split, env, resolve_root_symlink\n",
    );
  });

  it('reports buffer_size out of range, exit 2', async () => {
    const d = dir({ Caddyfile: '{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile w.php\n\t\t\tbuffer_size 2000\n\t\t}\n\t}\n}\n' });
    const r = await phpasync(['adapt'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("Caddyfile:5:16: buffer_size must be an integer in the range 1..1000, got '2000'\n");
  });

  it('substitutes environment variables, from the environment and from --envfile', async () => {
    const d = dir({ Caddyfile: ':{$PORT:1} {\n\trespond "{$GREETING}"\n}\n', 'app.env': '# comment\nPORT=9123\n' });
    const r = await phpasync(['adapt', '--envfile', 'app.env'], { cwd: d, env: { GREETING: 'hello' } });
    expect(r.code).toBe(0);
    const site = JSON.parse(r.stdout).sites[0];
    expect(site.addresses[0].port).toBe(9123);
    expect(site.directives[0].respond.body).toBe('hello');
  });

  it('refuses another adapter, exit 2', async () => {
    const r = await phpasync(['adapt', '--adapter', 'json', '--config', path.join(fixtures, 'guide.Caddyfile')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("phpasync: adapt: unknown adapter 'json'; phpasync reads Caddyfiles only\n");
  });

  it('still shows directives the runtime does not support', async () => {
    const d = dir({ Caddyfile: ':8080 {\n\tencode gzip\n\trespond "x"\n}\n' });
    const r = await phpasync(['adapt'], { cwd: d });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sites[0].directives.map((x: { name: string }) => x.name)).toEqual(['encode', 'respond']);
  });
});

describe('validate (loads the server module)', () => {
  it('accepts the guide, exit 0', async () => {
    const r = await phpasync(['validate', '--config', path.join(fixtures, 'guide.Caddyfile')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Valid configuration\n');
    expect(r.code).toBe(0);
  });

  it('lists what the runtime does not support yet, exit 2', async () => {
    const d = dir({ Caddyfile: ':8080 {\n\trequest_body /up {\n\t\tmax_size 1MB\n\t}\n}\n' });
    const r = await phpasync(['validate'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^not supported yet: request_body with a matcher \(\/.*\/Caddyfile:2\)$/m);
  });

  it('names a missing worker file, exit 2', async () => {
    const d = dir({ Caddyfile: '{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile missing.php\n\t\t\tasync\n\t\t}\n\t}\n}\n:8080 {\n\tphp_server\n}\n' });
    const r = await phpasync(['validate'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Caddyfile:3:3: worker file not found: ${path.join(fs.realpathSync(d), 'missing.php')}`);
  });

  it('stops at the first config error, exit 2', async () => {
    const d = dir({ Caddyfile: ':8080 {\n\tphp_sever\n}\n' });
    const r = await phpasync(['validate'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith("Caddyfile:2:2: unrecognized directive 'php_sever' (did you mean php_server?)")).toBe(true);
  });
});

describe('run and php-server refuse bad configs before starting', () => {
  it('run exits 2 on a directive the runtime lacks', async () => {
    const d = dir({ Caddyfile: 'http://127.0.0.1:0 {\n\trequest_body /up {\n\t\tmax_size 1MB\n\t}\n}\n' });
    const r = await phpasync(['run'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not supported yet: request_body with a matcher');
  });

  it('run exits 2 on a syntax error', async () => {
    const d = dir({ Caddyfile: ':8080 {\n\trespond "x\n}\n' });
    const r = await phpasync(['run'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('Caddyfile:2:10: unterminated quoted string: missing closing "\n');
  });

  it('php-server checks --buffer-size, exit 2', async () => {
    const r = await phpasync(['php-server', '--worker', 'w.php', '--async', '--buffer-size', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("phpasync: php-server: --buffer-size must be an integer in the range 1..1000, got '0'\n");
  });

  it('php-server wants a worker for --async, exit 2', async () => {
    const r = await phpasync(['php-server', '--async']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('phpasync: php-server: --async needs a worker script: add --worker FILE\n');
  });

  it('php-server reports a bad --listen as a flag error, exit 2', async () => {
    const r = await phpasync(['php-server', '--listen', 'ftp://x:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('phpasync: php-server: site address ftp://x:1: scheme ftp:// is not supported; use http:// or https://\n');
  });

  it('php-cli without a script, exit 2', async () => {
    const r = await phpasync(['php-cli']);
    expect(r.code).toBe(2);
  });

  it('php-cli with a missing script, exit 1', async () => {
    const r = await phpasync(['php-cli', 'nope.php']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Could not open input file: nope.php\n');
  });
});

describe('adapt --validate (loads the server module)', () => {
  it('prints the JSON when the config can run, exit 0', async () => {
    const r = await phpasync(['adapt', '--validate', '--config', path.join(fixtures, 'guide.Caddyfile')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sites).toHaveLength(1);
  });

  it('prints the problems instead, exit 2', async () => {
    const d = dir({ Caddyfile: ':8080 {\n\trequest_body /up {\n\t\tmax_size 1MB\n\t}\n}\n' });
    const r = await phpasync(['adapt', '--validate'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^not supported yet: request_body with a matcher \(\/.*\/Caddyfile:2\)$/m);
  });
});
