// examples/nginx-upstream.conf, as shipped, in front of two phpasync servers on this machine:
// nginx spreads the requests over both, and when one dies every request is still answered
// (nginx retries it on the other and stops sending to the dead one).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT, startServer, tempDir } from './helpers/server.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

// Debian's nginx: `phpasync bench --install-nginx` (src/bench/servers/install-nginx.ts) installs it.
describe.skipIf(!NGINX)('examples/nginx-upstream.conf', () => {
  it('spreads requests over two phpasync servers and keeps answering when one dies', async () => {
    const a = await startServer({ worker: 'processes.php' });
    const b = await startServer({ worker: 'processes.php' });
    const dir = tempDir();
    const port = await freePort();
    const example = fs.readFileSync(path.join(ROOT, 'examples/nginx-upstream.conf'), 'utf8');
    const site = example
      .replace('listen 8080;', `listen 127.0.0.1:${port};`)
      .replace('127.0.0.1:8081', `127.0.0.1:${a.port}`)
      .replace('127.0.0.1:8082', `127.0.0.1:${b.port}`);
    expect(site).not.toBe(example);
    fs.writeFileSync(path.join(dir, 'phpasync.conf'), site);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join(' ');
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      `${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http { access_log off; ${temp} include ${dir}/phpasync.conf; }
`,
    );
    expect(spawnSync(NGINX!, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')]).status).toBe(0);
    const nginx = spawn(NGINX!, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
    const nginxExited = new Promise((r) => nginx.once('exit', r));
    try {
      for (let i = 0; !(await accepts(port)); i++) {
        if (i > 250) throw new Error(`nginx does not listen: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = `http://127.0.0.1:${port}/`;
      const pids = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const r = await get(url);
        expect(r.status).toBe(200);
        pids.add(r.body);
      }
      expect(pids.size).toBe(2);

      a.proc.kill('SIGKILL');
      await a.exited;
      const bPid = String(b.proc.pid);
      for (let i = 0; i < 8; i++) expect(await get(url)).toEqual({ status: 200, body: bPid });
    } finally {
      nginx.kill('SIGTERM');
      await nginxExited;
      a.proc.kill('SIGKILL');
      expect(await b.stop()).toBe(0);
    }
  });
});
