// The server's log: JSON lines with level names on stderr when stderr is not a terminal,
// pino-pretty's lines when it is (or when PHPASYNC_LOG_FORMAT=pretty), nothing on stdout.
import { spawn, spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { CLI, startServer, tempDir, writeCaddyfile } from './helpers/server.js';

describe('server logs', () => {
  it('are JSON lines with level names on stderr, nothing on stdout', async () => {
    const server = await startServer({ worker: 'hello.php' });
    const stdout: string[] = [];
    server.proc.stdout!.on('data', (d: Buffer) => stdout.push(d.toString()));
    expect((await fetch(`${server.url}/`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
    const listening = server.logs().find((l) => /^Server listening at/.test(String(l.msg)));
    expect(listening).toMatchObject({ level: 'info' });
    expect(server.logs().every((l) => typeof l.level === 'string')).toBe(true);
    expect(stdout.join('')).toBe('');
  });

  it('are pino-pretty lines with PHPASYNC_LOG_FORMAT=pretty, and a bad value is refused', async () => {
    const server = await startServer({ worker: 'hello.php', env: { PHPASYNC_LOG_FORMAT: 'pretty' } });
    expect(await server.stop()).toBe(0);
    expect(server.logs()).toEqual([]); // no JSON line
    expect(server.output.some((l) => /INFO.*Server listening at http:\/\/127\.0\.0\.1:\d+/.test(l))).toBe(true);

    const dir = tempDir();
    const bad = spawnSync(process.execPath, [CLI, 'run', '--config', writeCaddyfile(dir, { worker: 'hello.php' })], {
      env: { ...process.env, PHPASYNC_LOG_FORMAT: 'xml' },
      encoding: 'utf8',
    });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('PHPASYNC_LOG_FORMAT must be "json" or "pretty", got "xml"');
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('are pretty on a terminal', async () => {
    const dir = tempDir();
    const caddyfile = writeCaddyfile(dir, { worker: 'hello.php' });
    // script(1) gives the server a pseudo-terminal; it stops once the server is listening.
    const proc = spawn('script', ['-qfec', `${process.execPath} ${CLI} run --config ${caddyfile}`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PHPASYNC_LOG_FORMAT: '' },
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Server listening at/.test(out)) resolve();
      });
      proc.once('exit', () => reject(new Error(`exited before listening:\n${out}`)));
      setTimeout(() => reject(new Error(`no "Server listening" line within 30 s:\n${out}`)), 30_000).unref();
    }).finally(() => {
      // Whatever happened, the server under script(1) does not outlive the test.
      if (proc.exitCode === null) spawnSync('pkill', ['-TERM', '-f', caddyfile]);
    });
    proc.kill('SIGTERM');
    spawnSync('pkill', ['-TERM', '-f', caddyfile]);
    expect(out).toMatch(/INFO/);
    expect(out).not.toMatch(/^\{"level"/m);
  });
});
