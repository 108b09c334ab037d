// `phpasync php-cli` as PHP's own CLI: PHP_SAPI "cli", PHP_BINARY that runs PHP again, -r, -v,
// -m, -i, a script's shebang line skipped, CLI $_SERVER entries; Debian's Composer runs on it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { CLI, tempDir } from './helpers/server.js';

function phpCli(args: string[], cwd?: string, env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, 'php-cli', ...args], { encoding: 'utf8', cwd, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const phpVersion = spawnSync('php-config', ['--version'], { encoding: 'utf8' }).stdout.trim();

describe('php-cli', () => {
  it('runs -r code as the CLI: PHP_SAPI, $argv, exit status, errors named "Command line code"', () => {
    const r = phpCli(['-r', 'echo PHP_SAPI, " ", php_sapi_name(), " ", json_encode($argv); exit(3);', 'a', 'b']);
    expect(r.out).toBe('cli cli ["Standard input code","a","b"]');
    expect(r.code).toBe(3);
    const t = phpCli(['-r', 'throw new Exception("boom");']);
    expect(t.code).toBe(255);
    expect(t.err).toContain('Uncaught Exception: boom in Command line code:1');
  });

  it('gives PHP_BINARY an executable that runs this PHP again', () => {
    const r = phpCli(['-r', 'echo is_executable(PHP_BINARY) ? "x" : "-", " "; passthru(escapeshellarg(PHP_BINARY) . " -r " . escapeshellarg("echo 6 * 7, PHP_SAPI;"));']);
    expect(r.out).toBe('x 42cli');
    expect(r.code).toBe(0);
  });

  it('-v, -m and -i answer as PHP does', () => {
    const v = phpCli(['-v']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(new RegExp(`^PHP ${phpVersion.replaceAll('.', '\\.')} \\(cli\\)`));
    expect(v.out).toContain('Zend Engine');
    const m = phpCli(['-m']);
    expect(m.out).toMatch(/^\[PHP Modules\]\n/);
    expect(m.out.split('\n')).toContain('Core');
    expect(m.out).toContain('[Zend Modules]');
    const i = phpCli(['-i']);
    expect(i.out).toMatch(/^phpinfo\(\)\nPHP Version => /);
    expect(i.out).not.toContain('<html');
  });

  it("skips a script's #! line and sets the CLI's $_SERVER entries", () => {
    const dir = tempDir();
    const script = path.join(dir, 'tool');
    fs.writeFileSync(script, '#!/usr/bin/php\n<?php echo $_SERVER["PHP_SELF"] === $argv[0] ? "self" : "?", " ", $argv[1];\n');
    const r = phpCli([script, 'arg']);
    expect(r.out).toBe('self arg');
  });

  it('refuses what it cannot do, clearly', () => {
    const d = phpCli(['-d', 'memory_limit=1G', 'x.php']);
    expect(d.code).toBe(2);
    expect(d.err).toContain('not supported yet: the PHP CLI option -d');
    const r = phpCli(['-r']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('-r needs CODE');
    const f = phpCli(['/nonexistent/script.php']);
    expect(f.code).toBe(1);
    expect(f.err).toContain('Could not open input file: /nonexistent/script.php');
  });

  const composer = ['/usr/bin/composer', '/usr/local/bin/composer'].find((f) => fs.existsSync(f));
  it.skipIf(!composer)("runs Debian's Composer: --version and validate", () => {
    const dir = tempDir();
    fs.writeFileSync(
      path.join(dir, 'composer.json'),
      JSON.stringify({ name: 'acme/demo', description: 'demo', type: 'project', license: 'MIT', require: { php: '>=8.1' } }),
    );
    const env = { COMPOSER_HOME: path.join(dir, '.composer'), COMPOSER_NO_INTERACTION: '1' };
    const v = phpCli([composer!, '--version'], dir, env);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toMatch(/^Composer version \d+\.\d+/);
    const ok = phpCli([composer!, 'validate', '--no-check-publish'], dir, env);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out + ok.err).toContain('composer.json is valid');
  });
});
