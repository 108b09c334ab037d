// Child processes from async handlers: pcntl_fork() is refused (the child was a copy of the
// whole server and took its wake-ups), children started by proc_open()/shell_exec() get none of
// the server's fds and can be signalled, and pcntl_waitpid() waits without blocking the thread.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { startServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

/** Direct children of a process (every thread's), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function get(srv: RunningServer, p: string): Promise<{ status: number; body: Record<string, unknown> }> {
  // A hang detector only: every request here is answered in milliseconds once the server works.
  const res = await fetch(srv.url + p, { signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('application/json');
  return { status: res.status, body: json ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}

/** SIGTERM, and the exit code; 'hung' if the process has not exited 20 s later. */
async function stopWithin(srv: RunningServer): Promise<number | null | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 20_000)));
  const code = await Promise.race([srv.stop('SIGTERM'), hung]);
  clearTimeout(timer);
  return code;
}

describe('child processes in async handlers', () => {
  it('pcntl_fork() is refused with a clear Error; every later request is answered, no child exists, SIGTERM exits 0', async () => {
    const srv = await startServer({ worker: 'children.php' });
    const pid = srv.proc.pid!;
    const strays: number[] = [];
    try {
      const fork = await get(srv, '/fork');
      strays.push(...childrenOf(pid));
      expect(fork.status).toBe(500);
      expect(String(fork.body['error'])).toContain('not supported yet: pcntl_fork() in an async worker');
      expect(strays).toEqual([]);

      // Batches of 10: within the ring's 20 slots, so none is refused with 503.
      for (let batch = 0; batch < 6; batch++) {
        const later = await Promise.all(Array.from({ length: 10 }, () => get(srv, '/')));
        expect(later.map((r) => r.status)).toEqual(later.map(() => 200));
      }
      expect(await stopWithin(srv)).toBe(0);
    } finally {
      for (const p of strays) killQuietly(p);
      if (srv.proc.exitCode === null) for (const p of childrenOf(pid)) killQuietly(p);
    }
  });

  it("a shell from shell_exec() inherits no socket, epoll or eventfd; a proc_open() child ends on proc_terminate()", async () => {
    const srv = await startServer({ worker: 'children.php' });
    try {
      const shell = (await get(srv, '/exec-fds')).body;
      expect(String(shell['fds'])).not.toMatch(/socket:|anon_inode:/);
      const term = await get(srv, '/terminate');
      expect(term.body).toEqual({ running: false, termsig: 15 });
    } finally {
      expect(await stopWithin(srv)).toBe(0);
    }
  });

  it('pcntl_signal() and pcntl_alarm() are refused: SIGTERM still drains and exits 0', async () => {
    const srv = await startServer({ worker: 'children.php' });
    try {
      for (const [p, fn] of [
        ['/signal', 'pcntl_signal'],
        ['/alarm', 'pcntl_alarm'],
      ] as const) {
        const r = await get(srv, p);
        expect(r.status).toBe(500);
        expect(String(r.body['error'])).toContain(`not supported yet: ${fn}() in an async worker`);
      }
      expect(await stopWithin(srv)).toBe(0);
      expect(srv.logs().some((l) => l['msg'] === 'shutting down')).toBe(true);
    } finally {
      if (srv.proc.exitCode === null) srv.proc.kill('SIGKILL');
    }
  });

  it('pcntl_waitpid() suspends only its request: another request is answered meanwhile, then it reaps the child', async () => {
    const srv = await startServer({ worker: 'children.php' });
    const dir = tempDir();
    const mark = path.join(dir, 'waiting');
    const until = path.join(dir, 'exit-now');
    let childPid = 0;
    try {
      let waiterDone = false;
      const waiter = get(srv, `/waitpid?mark=${encodeURIComponent(mark)}&until=${encodeURIComponent(until)}`).finally(() => (waiterDone = true));
      await waitFor(() => fs.existsSync(mark) && fs.readFileSync(mark, 'utf8') !== '', 10_000);
      childPid = Number(fs.readFileSync(mark, 'utf8'));
      const other = await get(srv, '/');
      expect(other.status).toBe(200);
      expect(waiterDone).toBe(false); // answered while the child still ran
      fs.writeFileSync(until, '');
      expect((await waiter).body).toEqual({ reaped: true, exit: 7 });
    } finally {
      fs.writeFileSync(until, '');
      if (childPid) killQuietly(childPid);
      expect(await stopWithin(srv)).toBe(0);
    }
  });

  it('request_timeout interrupts a pcntl_waitpid() on a child that does not exit (504)', async () => {
    const srv = await startServer({ worker: 'children.php', workerExtra: 'request_timeout 1s' });
    const pidfile = path.join(tempDir(), 'pid');
    try {
      const r = await get(srv, `/wait-forever?pidfile=${encodeURIComponent(pidfile)}`);
      expect(r.status).toBe(504);
      expect((await get(srv, '/')).status).toBe(200);
    } finally {
      if (fs.existsSync(pidfile)) killQuietly(Number(fs.readFileSync(pidfile, 'utf8')));
      expect(await stopWithin(srv)).toBe(0);
    }
  });
});
