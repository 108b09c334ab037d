// Classic scripts run in their own directory, as under php-fpm and FrankenPHP: getcwd(),
// file_put_contents('x.txt'), fopen('data.json') and include './x.php' are relative to the
// script. On an NTS PHP the process has one working directory, shared with Node, so the PHP
// thread gets one of its own: a script that moves it (chdir('/'), umask()) must not move the
// server's. The server runs from a directory with a relative root and a relative log file.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI, ROOT, tempDir, waitFor } from './helpers/server.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/classic-cwd/site');

/** A field of /proc/PID/status (the main thread's: Node's). */
const procStatus = (pid: number, field: string): string | undefined =>
  new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

describe('classic scripts: the working directory', () => {
  let proc: ChildProcess;
  let base: string;
  let site: string;
  const work = fs.realpathSync(tempDir());
  const markers = tempDir();
  const output: string[] = [];

  beforeAll(async () => {
    site = path.join(work, 'site');
    fs.cpSync(FIXTURE, site, { recursive: true });
    fs.writeFileSync(
      path.join(work, 'Caddyfile'),
      `{
	admin off
}
http://127.0.0.1:0 {
	root * site
	log {
		output file access.log
	}
	php_server {
		env MARKERS ${markers}
	}
}
`,
    );
    // Relative to the server's working directory, as users write them.
    proc = spawn(process.execPath, [CLI, 'run', '--config', 'Caddyfile'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        for (const l of d.toString().split('\n')) {
          if (l) output.push(l);
          const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(l);
          if (m) resolve(Number(m[1]));
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (c) => reject(new Error(`exited ${c}:\n${output.join('\n')}`)));
    });
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  });

  it('runs a script in its own directory: relative writes, reads and includes work', async () => {
    const r = (await (await fetch(`${base}/sub/rel.php`)).json()) as Record<string, unknown>;
    expect(r).toEqual({ cwd: path.join(site, 'sub'), wrote: true, data: { from: 'sub/data.json' }, included: 'part of sub' });
    expect(fs.readFileSync(path.join(site, 'sub/written.txt'), 'utf8')).toBe('from rel.php');
    expect(fs.existsSync(path.join(work, 'written.txt'))).toBe(false);
    expect(await (await fetch(`${base}/`)).text()).toBe(site);
  });

  it('keeps the server\'s directory and umask while a script has moved its own', async () => {
    const umask = procStatus(proc.pid!, 'Umask');
    const moved = fetch(`${base}/chdir.php`).then((r) => r.text());
    await waitFor(() => fs.existsSync(path.join(markers, 'moved')), 10_000);
    expect(fs.readFileSync(path.join(markers, 'moved'), 'utf8')).toBe('/');
    try {
      // The script sits in chdir('/') with umask 077 now; Node's thread did not move.
      expect(fs.readlinkSync(`/proc/${proc.pid}/cwd`)).toBe(work);
      expect(procStatus(proc.pid!, 'Umask')).toBe(umask);
      // The relative root and log file still work (static files are Node's).
      const hello = await fetch(`${base}/hello.txt`);
      expect(await hello.text()).toBe('hello static\n');
    } finally {
      fs.writeFileSync(path.join(markers, 'release'), '');
    }
    expect(await moved).toBe('/');
    // The next script starts in its own directory again.
    expect(await (await fetch(`${base}/`)).text()).toBe(site);
    const log = await waitFor(() => {
      const text = fs.existsSync(path.join(work, 'access.log')) ? fs.readFileSync(path.join(work, 'access.log'), 'utf8') : '';
      return text.includes('/hello.txt') && text.includes('/chdir.php') ? text : undefined;
    });
    expect(log.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(4);
    expect(fs.existsSync('/access.log')).toBe(false);
    expect(fs.readlinkSync(`/proc/${proc.pid}/cwd`)).toBe(work);
  });
});
