// A benchmarked server running as a child process: started, awaited until it listens, stopped.

import { spawn, type ChildProcess } from 'node:child_process';

import { PhpasyncError } from '../../server/errors.js';

export interface ServerHandle {
  url: string;
  /** What the process printed so far, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A server that is a single child process: its pid is for readings such as its RSS. */
export interface ChildServerHandle extends ServerHandle {
  pid: number;
}

export interface SpawnSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Finds the base URL in a line of output; undefined until the server says it listens. */
  listening(line: string): string | undefined;
  /** How long to wait for the listening line. */
  timeoutMs?: number;
}

const KEEP_OUTPUT = 64 * 1024; // enough for an error message, bounded for chatty servers

/** Spawns the server and resolves once it listens; rejects with its output if it exits or hangs. */
export async function spawnServer(spec: SpawnSpec): Promise<ChildServerHandle> {
  const proc = spawn(spec.command, spec.args, { env: spec.env ?? process.env, cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const timeoutMs = spec.timeoutMs ?? 20_000;
  const url = await new Promise<string>((resolve, reject) => {
    let pending = '';
    let found = false;
    const timer = setTimeout(() => {
      kill(proc);
      reject(new PhpasyncError('PHPASYNC_BENCH_START', [spec.command, timeoutMs / 1000, output]));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      const text = d.toString();
      if (output.length < KEEP_OUTPUT) output += text;
      if (found) return;
      pending += text;
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        const u = spec.listening(line);
        if (u !== undefined) {
          found = true;
          clearTimeout(timer);
          resolve(u);
          return;
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new PhpasyncError('PHPASYNC_BENCH_EXITED', [spec.command, String(code), output]));
    });
  });
  return {
    url,
    pid: proc.pid!,
    output: () => output,
    stop: async () => {
      kill(proc);
      // A server that ignores SIGTERM must not hang the bench.
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function kill(proc: ChildProcess): void {
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
}

/** The "Server listening at http://127.0.0.1:PORT" line that both phpasync (pino) and our Fastify app print. */
export function listeningLine(line: string): string | undefined {
  const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
  return m?.[1];
}
