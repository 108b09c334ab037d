// nginx + php-fpm, the classic PHP stack, as a yardstick: the bench writes its own configs
// into a temp dir, starts both on loopback (nginx on a free port, php-fpm on a unix socket)
// and stops both after. Nothing under /etc is read or changed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PhpasyncError } from '../../server/errors.js';
import { FPM_HELLO } from '../paths.js';
import type { ServerHandle } from './child.js';

/** php-fpm children, fixed: the yardstick in DESIGN.md was measured with 2-4 static children. */
export const FPM_CHILDREN = 2;

export interface NginxFpmBinaries {
  nginx: string;
  phpFpm: string;
}

const SEARCH = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

function which(names: string[]): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...SEARCH];
  for (const name of names) {
    for (const dir of dirs) {
      const p = path.join(dir, name);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The binaries, or a sentence saying which one is missing. */
export function findNginxFpm(): NginxFpmBinaries | string {
  const nginx = which(['nginx']);
  const phpFpm = which(['php-fpm8.2', 'php-fpm', 'php8.2-fpm']);
  const missing = [nginx ? '' : 'nginx', phpFpm ? '' : 'php-fpm'].filter(Boolean);
  if (!nginx || !phpFpm) return `${missing.join(' and ')} not installed (run with --install-nginx as root to install Debian's nginx and php8.2-fpm)`;
  return { nginx, phpFpm };
}

/** A port free right now on loopback (nginx cannot report one it picked itself). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.listen(0, '127.0.0.1', resolve).once('error', reject));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** What a scenario changes in the stack; the defaults are the hello-world yardstick's. */
export interface NginxFpmSpec {
  /** The PHP script every request runs. */
  script?: string;
  children?: number;
  /** Environment of the php-fpm children (`env[...]` lines of the pool). */
  env?: Record<string, string>;
}

export function fpmConfig(dir: string, children = FPM_CHILDREN, env: Record<string, string> = {}): string {
  // As root, php-fpm wants a pool user and the -R flag; otherwise it runs as whoever started it.
  const user = isRoot() ? 'user = root\ngroup = root\n' : '';
  return `[global]
pid = ${dir}/php-fpm.pid
error_log = ${dir}/php-fpm.log
daemonize = no

[bench]
listen = ${dir}/php-fpm.sock
${user}pm = static
pm.max_children = ${children}
${Object.entries(env).map(([k, v]) => `env[${k}] = ${v}\n`).join('')}; opcache as phpasync has it, so the comparison is about the server, not the compiler cache
php_admin_value[opcache.enable] = 1
`;
}

export function nginxConfig(dir: string, port: number, script = FPM_HELLO): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
${isRoot() ? 'user root;\n' : ''}events {
	worker_connections 4096;
}
http {
	access_log off;
	client_body_temp_path ${dir}/body;
	proxy_temp_path ${dir}/proxy;
	fastcgi_temp_path ${dir}/fastcgi;
	uwsgi_temp_path ${dir}/uwsgi;
	scgi_temp_path ${dir}/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:${port};
		location / {
			fastcgi_pass unix:${dir}/php-fpm.sock;
			fastcgi_param SCRIPT_FILENAME ${script};
			fastcgi_param REQUEST_METHOD $request_method;
			fastcgi_param REQUEST_URI $request_uri;
			fastcgi_param QUERY_STRING $query_string;
			fastcgi_param SERVER_PROTOCOL $server_protocol;
			fastcgi_param REMOTE_ADDR $remote_addr;
		}
	}
}
`;
}

interface Proc {
  stop(): Promise<void>;
  log(): string;
}

function start(command: string, args: string[], logFile: string): Proc {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  proc.on('error', (err) => (out += String(err)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    log: () => {
      let file = '';
      try {
        file = fs.readFileSync(logFile, 'utf8');
      } catch {
        // not written yet
      }
      return (out + file).trim();
    },
    stop: async () => {
      // SIGQUIT: both shut down gracefully on it; SIGKILL if they do not within 5 s.
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGQUIT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitUntilServing(url: string, procs: Proc[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new PhpasyncError('PHPASYNC_BENCH_NOT_SERVING', [url, timeoutMs / 1000, last, procs.map((p) => p.log()).join('\n')]);
}

export async function startNginxFpm(bin: NginxFpmBinaries, dir: string, spec: NginxFpmSpec = {}): Promise<ServerHandle> {
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'php-fpm.conf'), fpmConfig(dir, spec.children, spec.env));
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, port, spec.script));
  const fpm = start(bin.phpFpm, ['--nodaemonize', '--fpm-config', path.join(dir, 'php-fpm.conf'), ...(isRoot() ? ['-R'] : [])], path.join(dir, 'php-fpm.log'));
  // -e: the startup error log too, or nginx tries /var/log/nginx before reading our config.
  const nginx = start(bin.nginx, ['-p', dir + '/', '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'nginx-error.log')], path.join(dir, 'nginx-error.log'));
  const procs = [fpm, nginx];
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  try {
    await waitUntilServing(url + '/hello', procs, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, output: () => procs.map((p) => p.log()).join('\n'), stop };
}
