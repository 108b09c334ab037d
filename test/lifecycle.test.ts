// Startup errors are clear and exit 1; SIGTERM/SIGINT exit 0 promptly, with nothing hanging.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { CLI, runCli, startServer, tempDir, waitFor, writeCaddyfile } from './helpers/server.js';

async function startupFailure(opts: Parameters<typeof writeCaddyfile>[1]): Promise<{ code: number | null; out: string }> {
  const file = writeCaddyfile(tempDir(), opts);
  return runCli(['run', '--config', file]);
}

describe('startup errors', () => {
  it('refuses a worker file that registers no handler', async () => {
    const r = await startupFailure({ worker: 'no-handler.php' });
    expect(r.code).toBe(1);
    expect(r.out).toContain('registered no handler: call FrankenPHP\\\\HttpServer::onRequest(callable)');
  });

  it('reports a syntax error in the worker file', async () => {
    const r = await startupFailure({ worker: 'parse-error.php' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/parse-error\.php failed: Unclosed '\{' on line 3 in .*parse-error\.php:4/);
  });

  it('reports a non-callable handler as the TypeError PHP raised', async () => {
    const r = await startupFailure({ worker: 'bad-handler.php' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/onRequest\(\): Argument #1 \(\$handler\) must be a valid callback/);
  });

  it('refuses num > 1 together with the global option processes on an NTS PHP, naming the reason', async () => {
    const r = await startupFailure({ worker: 'hello.php', num: 2, globalOptions: 'processes 2' });
    expect(r.code).toBe(2); // refused as a config error before PHP starts
    expect(r.out).toContain('this PHP is NTS (not thread-safe): one PHP thread per process, so num 2 means 2 processes');
  });

  it('refuses a worker file that does not exist', async () => {
    const r = await startupFailure({ worker: path.join(tempDir(), 'missing.php') });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/missing\.php/);
  });
});

describe('shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`exits 0 on ${signal} within seconds, after answering what it accepted`, async () => {
      const server = await startServer({ worker: 'busy.php' });
      const inflight = Array.from({ length: 5 }, (_, i) => fetch(`${server.url}/s${i}`).then((r) => r.text()));
      // Once the first answer is back, the other four are queued behind it (the handler is
      // serial and CPU-bound): they were accepted before the signal and must be answered.
      expect(await inflight[0]).toBe('ok /s0');
      const t0 = Date.now();
      const code = await server.stop(signal);
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await Promise.all(inflight)).toEqual(['ok /s0', 'ok /s1', 'ok /s2', 'ok /s3', 'ok /s4']);
      expect(server.logs().some((l) => l.msg === 'shutting down')).toBe(true);
    });
  }

  it('a SIGTERM that comes while PHP boots stops the server cleanly once it is up (exit 0)', async () => {
    const dir = tempDir();
    const marker = path.join(dir, 'booting');
    const file = writeCaddyfile(dir, {
      workerSource: `<?php
file_put_contents(${JSON.stringify(marker)}, 'x');
usleep(800000);
FrankenPHP\\HttpServer::onRequest(function ($req, $res) { $res->end(); });`,
    });
    const proc = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.once('exit', (c, s) => r([c, s])));
    await waitFor(() => fs.existsSync(marker), 20_000);
    proc.kill('SIGTERM');
    expect(await exited, out).toEqual([0, null]);
    expect(out).toMatch(/"msg":"shutting down"/);
  });

  it('names its threads: php-0 serves, php-watchdog enforces request_timeout', async () => {
    const fs = await import('node:fs');
    const server = await startServer({ worker: 'hello.php' });
    try {
      const task = `/proc/${server.proc.pid}/task`;
      // A thread may end between the listing and the read (libuv's, V8's): skip those.
      const names = fs.readdirSync(task).map((t) => {
        try {
          return fs.readFileSync(`${task}/${t}/comm`, 'utf8').trim();
        } catch {
          return '';
        }
      });
      expect(names.filter((n) => n === 'php-0')).toHaveLength(1);
      expect(names.filter((n) => n === 'php-watchdog')).toHaveLength(1);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('does not spin a core while idle or after Ctrl-C (process CPU time stays low)', async () => {
    const server = await startServer({ worker: 'hello.php' });
    await fetch(`${server.url}/warm`);
    const pid = server.proc.pid!;
    const fs = await import('node:fs');
    const cpu = (): number => {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks
    };
    const before = cpu();
    await new Promise((r) => setTimeout(r, 1000));
    // A parked PHP thread costs nothing: far below the 100 ticks a spinning core would use.
    expect(cpu() - before).toBeLessThan(20);
    expect(await server.stop('SIGINT')).toBe(0);
  });
});
