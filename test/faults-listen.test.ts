// A second server on an address already in use exits non-zero with a clear message, and
// fails before PHP boots (the socket is bound before the worker file runs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
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
});
