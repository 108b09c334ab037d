// The servers of the front scenarios (src/bench/scenarios-front.ts): a 10 KiB file served by
// phpasync's file_server and by nginx, and a ~50 KiB JSON response gzip-encoded by phpasync's
// `encode gzip` and by Fastify + @fastify/compress. Each writes its config into the scenario's
// temp dir; nothing under /etc is read or changed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { CLI, PHP_APP, ROOT } from '../paths.js';
import { listeningLine, spawnServer, type ServerHandle } from './child.js';
import { BUFFER_SIZE, PHP_THREADS } from './phpasync.js';

export type FrontServerKind = 'phpasync-static' | 'nginx-static' | 'phpasync-gzip' | 'fastify-gzip';

export const STATIC_FILE = 'file-10k.bin';
export const STATIC_BYTES = 10 * 1024;
const GZIP_WORKER = path.join(ROOT, 'src/bench/php/gzip-json.php');
const FASTIFY_GZIP_APP = path.join(ROOT, 'dist/src/bench/servers/fastify-gzip-app.js');

function writeStaticRoot(dir: string): string {
  const root = path.join(dir, 'www');
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, STATIC_FILE), Buffer.alloc(STATIC_BYTES, 'x'));
  return root;
}

function caddyfile(worker: string, site: string): string {
  return `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${worker}\n\t\t\tnum ${PHP_THREADS}\n\t\t\tasync\n\t\t\tbuffer_size ${BUFFER_SIZE}\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttp://127.0.0.1:0 {\n${site}\n}\n`;
}

function phpasync(dir: string, text: string): Promise<ServerHandle> {
  const file = path.join(dir, 'Caddyfile');
  fs.writeFileSync(file, text);
  return spawnServer({ command: process.execPath, args: [CLI, 'run', '--config', file], listening: listeningLine });
}

function which(name: string): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin']) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.listen(0, '127.0.0.1', resolve).once('error', reject));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** nginx serving the root as a stock static site does (sendfile, one worker process as the
 * other nginx yardsticks). */
async function nginxStatic(dir: string): Promise<ServerHandle | string> {
  const nginx = which('nginx');
  if (!nginx) return 'nginx not installed (run with --install-nginx as root to install Debian\'s nginx)';
  const root = writeStaticRoot(dir);
  const port = await freePort();
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;\nmaster_process on;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log warn;\n${user}events {\n\tworker_connections 4096;\n}\nhttp {\n\taccess_log off;\n\tclient_body_temp_path ${dir}/body;\n\tproxy_temp_path ${dir}/proxy;\n\tfastcgi_temp_path ${dir}/fastcgi;\n\tuwsgi_temp_path ${dir}/uwsgi;\n\tscgi_temp_path ${dir}/scgi;\n\tkeepalive_requests 1000000;\n\tsendfile on;\n\ttcp_nopush on;\n\tserver {\n\t\tlisten 127.0.0.1:${port};\n\t\troot ${root};\n\t}\n}\n`,
  );
  const proc = spawn(nginx, ['-p', dir + '/', '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'nginx-error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGQUIT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  for (let i = 0; i < 150; i++) {
    try {
      const res = await fetch(`${url}/${STATIC_FILE}`);
      await res.arrayBuffer();
      if (res.ok) return { url, output: () => out, stop };
    } catch {
      // not yet
    }
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  return `nginx did not serve ${url}/${STATIC_FILE}: ${out.trim()}`;
}

/** The server, or why it cannot run here (the scenario is then skipped). */
export async function startFrontServer(kind: FrontServerKind, dir: string): Promise<ServerHandle | string> {
  switch (kind) {
    case 'phpasync-static':
      // A site of static files next to the bench's worker (a worker is required; it is not asked).
      return phpasync(dir, caddyfile(PHP_APP, `\troot * ${writeStaticRoot(dir)}\n\tfile_server`));
    case 'nginx-static':
      return nginxStatic(dir);
    case 'phpasync-gzip':
      return phpasync(dir, caddyfile(GZIP_WORKER, '\tencode gzip\n\tphp_server {\n\t\tindex off\n\t\tfile_server off\n\t}'));
    case 'fastify-gzip':
      // A development dependency, as the load generator: absent from a production install.
      try {
        import.meta.resolve('@fastify/compress');
      } catch {
        return '@fastify/compress is not installed (npm install --include=dev)';
      }
      return spawnServer({ command: process.execPath, args: [FASTIFY_GZIP_APP], listening: listeningLine });
  }
}
