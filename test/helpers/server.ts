// Starts a real phpasync server (the CLI, as users run it) on an ephemeral loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');
export const FIXTURES = path.join(ROOT, 'test/fixtures/php');

export interface ServerOptions {
  /** Worker file: a path under test/fixtures/php, or PHP source written to a temp file. */
  worker?: string;
  workerSource?: string;
  num?: number;
  bufferSize?: number;
  /** Extra lines inside the frankenphp global block. */
  globalExtra?: string;
  /** Extra lines in the worker block (request_timeout, max_requests, …). */
  workerExtra?: string;
  /** Extra Caddy global options (grace_period, …). */
  globalOptions?: string;
  /** Extra lines at the top of the site block (request_body, …). */
  siteExtra?: string;
  env?: Record<string, string>;
  /** The CLI to run (default: this checkout's dist/src/cli/main.js). */
  cli?: string;
  /** Extra arguments after `run --config FILE` (--pidfile …). */
  runArgs?: string[];
  /** Replaces the site block's `route { php_server … }` (file_server, encode, …). */
  siteBody?: string;
  /** Replaces the `match *` line of the worker block ('' for a worker without match). */
  workerMatch?: string;
  /** false: a classic worker (no `async`: the file loops on frankenphp_handle_request()). */
  async?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  proc: ChildProcess;
  /** stdout+stderr lines so far (pino JSON lines and anything else). */
  output: string[];
  /** Parsed pino lines. */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code once the process ended and its output is all read. */
  exited: Promise<number | null>;
  /** Sends the signal and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-test-'));
}

export function writeCaddyfile(dir: string, opts: ServerOptions): string {
  let worker = opts.worker ? path.resolve(FIXTURES, opts.worker) : '';
  if (opts.workerSource !== undefined) {
    worker = path.join(dir, 'worker.php');
    fs.writeFileSync(worker, opts.workerSource);
  }
  const file = path.join(dir, 'Caddyfile');
  fs.writeFileSync(
    file,
    `{
	${opts.globalOptions ?? ''}
	frankenphp {
		${opts.globalExtra ?? ''}
		worker {
			file ${worker}
			num ${opts.num ?? 1}
			${opts.async === false ? '' : 'async'}
			buffer_size ${opts.bufferSize ?? 20}
			${opts.workerMatch ?? 'match *'}
			${opts.workerExtra ?? ''}
		}
	}
}

http://127.0.0.1:0 {
	${opts.siteExtra ?? ''}
	${
    opts.siteBody ??
    `route {
		php_server {
			index off
			file_server off
		}
	}`
  }
}
`,
  );
  return file;
}

// Servers a test file left running (it timed out or threw before stop()): killed after the
// file (test/helpers/setup.ts), so no orphan keeps a port and a core after the run.
const running = new Set<ChildProcess>();

/** SIGKILLs every server this process started that is still running; returns how many. */
export function killRunningServers(): number {
  const n = running.size;
  for (const p of running) p.kill('SIGKILL');
  running.clear();
  return n;
}

/** Spawns `phpasync run` and waits for its "listening" line. Rejects with the output if it exits first. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const dir = tempDir();
  const caddyfile = writeCaddyfile(dir, opts);
  const proc = spawn(process.execPath, [opts.cli ?? CLI, 'run', '--config', caddyfile, ...(opts.runArgs ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  const output: string[] = [];
  // 'close', not 'exit': it comes after stdout/stderr are drained, so every log line is in.
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        output.push(line);
        const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (m) resolve(Number(m[1]));
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`phpasync exited with ${code} before listening:\n${output.join('\n')}${buf}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    output,
    logs: () =>
      output.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Runs `phpasync run` on a whole Caddyfile and waits for `lines` "Server listening" lines
 * (one per socket). */
export async function runCaddyfile(text: string, lines: number): Promise<{ proc: ChildProcess; output: string[]; stop(): Promise<number | null> }> {
  const dir = tempDir();
  const file = path.join(dir, 'Caddyfile');
  fs.writeFileSync(file, text);
  const proc = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  await new Promise<void>((resolve, reject) => {
    let seen = 0;
    const onData = (d: Buffer): void => {
      for (const l of d.toString().split('\n')) {
        if (l) output.push(l);
        if (l.includes('Server listening at') && ++seen === lines) resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((c) => reject(new Error(`exited ${c} before listening:\n${output.join('\n')}`)));
  });
  return {
    proc,
    output,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  return { code, out };
}

/** Polls until fn returns something truthy (logs travel through a pipe, after the response). */
export async function waitFor<T>(fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface RawConnection {
  socket: net.Socket;
  /** Everything the server sent, once it ended the connection (or after the timeout). */
  received: Promise<string>;
  /** Whether the server ended the connection (false while open, or after the timeout). */
  readonly ended: boolean;
}

/** A plain TCP connection to the server, for bytes no HTTP client would send (writes before
 * the connect completes are queued by the socket). */
export function rawConnection(port: number, timeoutMs = 5000): RawConnection {
  const socket = net.connect(port, '127.0.0.1');
  let ended = false;
  const received = new Promise<string>((resolve, reject) => {
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('end', () => {
      ended = true;
      resolve(out);
    });
    socket.on('error', reject);
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(out);
    });
  });
  return {
    socket,
    received,
    get ended() {
      return ended;
    },
  };
}
