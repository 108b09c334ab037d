import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const repo = path.resolve(__dirname, '../..');
export const cli = path.join(repo, 'dist/src/cli/main.js');
export const fixtures = path.join(repo, 'test/fixtures/caddyfile');

const lockDir = path.join(repo, 'dist/.cli-test-build.lock');
const stamp = path.join(repo, 'dist/.cli-test-build.stamp');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Compiles the project once for all CLI test files (they run in parallel workers: a lock keeps
 * two tsc runs from writing dist/ at once; the build is skipped when no source is newer than
 * the CLI or the stamp).
 * tsc emits even when other parts of the tree have type errors; the CLI's presence is checked.
 */
export function buildOnce(): void {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`could not take ${lockDir}`);
      sleepSync(200);
    }
  }
  try {
    // dist/ built after the last source change (npm test's pretest, build.sh) counts as fresh
    // too: a tsc run here rewrites dist/ under the other test files' servers.
    const built = Math.max(fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0, fs.existsSync(cli) ? fs.statSync(cli).mtimeMs : 0);
    const fresh = newestSource(path.join(repo, 'src')) < built;
    if (!fresh) {
      const started = Date.now();
      try {
        execFileSync(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
          cwd: repo,
          stdio: 'pipe',
        });
      } catch {
        // Type errors elsewhere must not hide the CLI.
      }
      // Stamp with the time the build started: a source saved during the build is newer.
      fs.writeFileSync(stamp, '');
      fs.utimesSync(stamp, started / 1000, started / 1000);
    }
  } finally {
    fs.rmdirSync(lockDir);
  }
  if (!fs.existsSync(cli)) throw new Error(`build did not produce ${cli}`);
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function phpasync(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: opts.cwd ?? repo,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A port that was free a moment ago (the server under test binds it itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Starts a long-running command, waits until `url` answers, returns the body and stops it with SIGTERM. */
export async function serveAndFetch(args: string[], url: string, cwd: string): Promise<{ status: number; body: string; exit: Result }> {
  const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Result>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  let status = 0;
  let body = '';
  const deadline = Date.now() + 15_000;
  try {
    for (;;) {
      try {
        const res = await fetch(url);
        status = res.status;
        body = await res.text();
        break;
      } catch (err) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server never answered: ${stderr}`, { cause: err });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const exit = await exited;
  clearTimeout(timer);
  return { status, body, exit };
}
