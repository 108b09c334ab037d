// A second server on an address already in use exits non-zero with a clear message, and
// fails before PHP boots (the socket is bound before the worker file runs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { CLI, startServer, tempDir, writeCaddyfile } from './helpers/server.js';

/** Runs `phpasync run` to its end; SIGKILLed (code null) if it has not exited after `ms`. */
function runUntilExit(caddyfile: string, ms: number): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [CLI, 'run', '--config', caddyfile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const kill = setTimeout(() => proc.kill('SIGKILL'), ms);
  return new Promise((resolve) =>
    proc.once('close', (code) => {
      clearTimeout(kill);
      resolve({ code, out });
    }),
  );
}

describe('listen address in use', () => {
  it('exits 1 naming the address and EADDRINUSE, before the worker file runs; the first server keeps serving', async () => {
    const first = await startServer({ worker: 'hello.php' });
    try {
      const dir = tempDir();
      const marker = path.join(dir, 'worker-ran');
      const caddyfile = writeCaddyfile(dir, {
        workerSource: `<?php
file_put_contents(${JSON.stringify(marker)}, 'ran');
FrankenPHP\\HttpServer::onRequest(function ($req, $res) { $res->end(); });
`,
      });
      fs.writeFileSync(caddyfile, fs.readFileSync(caddyfile, 'utf8').replace('127.0.0.1:0', `127.0.0.1:${first.port}`));

      // 20 s is far beyond the ~0.3 s it takes; before the fix it never exited.
      const second = await runUntilExit(caddyfile, 20_000);
      expect(second.code).toBe(1);
      expect(second.out).toContain(`cannot listen on 127.0.0.1:${first.port}`);
      expect(second.out).toContain('EADDRINUSE');
      expect(second.out).not.toContain('PHP worker ready');
      expect(fs.existsSync(marker)).toBe(false);

      const res = await fetch(first.url + '/');
      expect(res.status).toBe(200);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });

  it('a connection made while the worker file still runs is answered once PHP is ready', async () => {
    const dir = tempDir();
    const go = path.join(dir, 'go');
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    // The worker file waits for a file the test creates only after it has connected.
    const caddyfile = writeCaddyfile(dir, {
      workerSource: `<?php
for ($i = 0; $i < 3000 && !file_exists(${JSON.stringify(go)}); $i++) usleep(10000);
FrankenPHP\\HttpServer::onRequest(function ($req, $res) { $res->write('served'); $res->end(); });
`,
    });
    fs.writeFileSync(caddyfile, fs.readFileSync(caddyfile, 'utf8').replace('127.0.0.1:0', `127.0.0.1:${port}`));
    const proc = spawn(process.execPath, [CLI, 'run', '--config', caddyfile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('close', (c) => r(c)));
    try {
      // Bound before PHP boots: the connect succeeds while the worker file still waits.
      let connected = false;
      for (let i = 0; i < 200 && !connected; i++) {
        const s = net.connect(port, '127.0.0.1');
        connected = await new Promise<boolean>((r) => {
          s.once('connect', () => r(true));
          s.once('error', () => r(false));
        });
        s.destroy();
        if (!connected) await new Promise((r) => setTimeout(r, 50));
      }
      expect(connected).toBe(true);
      expect(out).not.toContain('PHP worker ready');
      const res = fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(20_000) });
      fs.writeFileSync(go, '');
      const r = await res;
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('served');
    } finally {
      fs.writeFileSync(go, '');
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
