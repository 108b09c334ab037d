// Several PHP threads in one process (`num N` on a thread-safe PHP). Needs the addon built
// against a ZTS PHP: scripts/test-zts.sh builds one (scripts/build-php-zts.sh, cached) and runs
// this file with PHPASYNC_ZTS_ADDON set; without it the file is skipped, saying why.
import fs from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';

import { startServer, tempDir, waitFor, type RunningServer, type ServerOptions } from './helpers/server.js';

const ADDON = process.env.PHPASYNC_ZTS_ADDON ?? '';
const why = ADDON
  ? ''
  : 'PHPASYNC_ZTS_ADDON is not set: these tests need the addon built against a thread-safe PHP (run scripts/test-zts.sh)';

interface Answer {
  status: number;
  body: string;
  retryAfter: string | null;
}

if (!ADDON) console.warn(`test/zts-threads.test.ts skipped: ${why}`);

let server: RunningServer | undefined;
// Every test ends with a graceful stop: N threads shut down, thread 0 last with the module.
afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  const code = await s.stop();
  expect({ code, signal: s.proc.signalCode, tail: code === 0 ? [] : s.output.slice(-5) }).toEqual({ code: 0, signal: null, tail: [] });
});

async function start(opts: ServerOptions): Promise<RunningServer> {
  server = await startServer({ worker: 'zts-threads.php', ...opts, env: { PHPASYNC_ADDON: ADDON, ...opts.env } });
  return server;
}

/** Sends a GET and records the answer; `done` tells whether it arrived yet. */
function send(url: string): { answer: Promise<Answer>; readonly done: boolean } {
  let done = false;
  const answer = fetch(url).then(async (r) => {
    const a = { status: r.status, body: await r.text(), retryAfter: r.headers.get('retry-after') };
    done = true;
    return a;
  });
  return {
    answer,
    get done() {
      return done;
    },
  };
}

/** Waits until the handler behind ?mark=file has started; returns the TID it ran on. */
async function markOf(file: string, ms = 20000): Promise<string> {
  return waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8'), ms);
}

describe.skipIf(!ADDON)(`ZTS: num > 1 runs that many PHP threads in one process${why ? ` (skipped: ${why})` : ''}`, () => {
  it('serves from N threads, and skips a ring that is full: one thread stuck in a CPU-bound handler, the other answers', async () => {
    const s = await start({ num: 2, bufferSize: 2 });
    const dir = tempDir();
    const spin = send(`${s.url}/spin?mark=${dir}/spin&stop=${dir}/stop`);
    const stuck = await markOf(`${dir}/spin`);
    // One request at a time, never more than the stuck thread's ring can hold unanswered: once
    // that ring is full, every request must go to the other thread's ring.
    const sent: ReturnType<typeof send>[] = [];
    for (let i = 0; i < 12; i++) {
      sent.push(send(`${s.url}/id?i=${i}`));
      await waitFor(() => sent.filter((r) => r.done).length >= sent.length - 2, 20000);
    }
    const early = await Promise.all(sent.filter((r) => r.done).map((r) => r.answer));
    expect(early.length).toBe(10); // 2 wait in the stuck thread's full ring
    for (const a of early) {
      expect(a.status).toBe(200);
      expect(a.body).not.toBe(stuck);
    }
    fs.writeFileSync(`${dir}/stop`, '');
    expect((await spin.answer).body).toBe(stuck);
    const all = await Promise.all(sent.map((r) => r.answer));
    expect(all.map((a) => a.status)).toEqual(Array(12).fill(200));
    // The two that waited were served by the thread that was stuck; two threads served in all.
    expect(all.filter((a) => a.body === stuck).length).toBe(2);
    expect(new Set(all.map((a) => a.body)).size).toBe(2);
  });

  it('answers 503 + Retry-After only when every ring is full', async () => {
    const s = await start({ num: 2, bufferSize: 2 });
    const dir = tempDir();
    const spins = [0, 1].map((i) => send(`${s.url}/spin?mark=${dir}/spin${i}&stop=${dir}/stop`));
    const tids = [await markOf(`${dir}/spin0`), await markOf(`${dir}/spin1`)];
    expect(tids[0]).not.toBe(tids[1]); // both threads are stuck
    // 2 rings x buffer_size 2 = 4 places for 6 requests: exactly 2 are refused.
    const sent = Array.from({ length: 6 }, (_, i) => send(`${s.url}/id?i=${i}`));
    await waitFor(() => sent.filter((r) => r.done).length >= 2, 20000);
    const refused = await Promise.all(sent.filter((r) => r.done).map((r) => r.answer));
    expect(refused.map((a) => [a.status, a.retryAfter])).toEqual([
      [503, '1'],
      [503, '1'],
    ]);
    fs.writeFileSync(`${dir}/stop`, '');
    await Promise.all(spins.map((r) => r.answer));
    const all = await Promise.all(sent.map((r) => r.answer));
    expect(all.filter((a) => a.status === 200).length).toBe(4);
    expect(all.filter((a) => a.status === 503).length).toBe(2);
  });

  it('a fatal error restarts only its own thread: the other thread\'s request in flight is answered', async () => {
    const s = await start({ num: 2 });
    const dir = tempDir();
    const waits = [0, 1].map((i) => send(`${s.url}/wait?mark=${dir}/w${i}&stop=${dir}/stop`));
    const tids = [await markOf(`${dir}/w0`), await markOf(`${dir}/w1`)];
    expect(tids[0]).not.toBe(tids[1]);
    const fatal = await send(`${s.url}/fatal`).answer;
    expect(fatal.status).toBe(500);
    await waitFor(() => s.logs().some((l) => String(l.msg).includes('restarting the interpreter after a fatal error')), 20000);
    fs.writeFileSync(`${dir}/stop`, '');
    const answers = await Promise.all(waits.map((w) => w.answer));
    // The request on the thread that restarted fails with it (documented); the other one lives.
    expect(answers.map((a) => a.status).sort()).toEqual([200, 500]);
    const survivor = answers.find((a) => a.status === 200)!;
    expect(tids).toContain(survivor.body);
    expect(s.logs().filter((l) => String(l.msg).includes('restarting the interpreter')).length).toBe(1);
    // Both threads serve on.
    const after = await Promise.all(Array.from({ length: 6 }, (_, i) => send(`${s.url}/id?i=${i}`).answer));
    expect(after.map((a) => a.status)).toEqual(Array(6).fill(200));
  });

  it('max_requests recycles one thread while the other thread\'s request stays in flight', async () => {
    const s = await start({ num: 2, bufferSize: 2, workerExtra: 'max_requests 2' });
    const dir = tempDir();
    const wait = send(`${s.url}/wait?mark=${dir}/w&stop=${dir}/stop`);
    const holder = await markOf(`${dir}/w`);
    // The holding thread has one request left before its recycle, which waits for the one in
    // flight; its ring then fills (2) and the other thread takes the rest, recycling every 2.
    const sent: ReturnType<typeof send>[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(send(`${s.url}/id?i=${i}`));
      await waitFor(() => sent.filter((r) => r.done).length >= sent.length - 3, 20000);
    }
    await waitFor(() => s.logs().filter((l) => String(l.msg).includes('(max_requests)')).length >= 2, 20000);
    expect(wait.done).toBe(false);
    fs.writeFileSync(`${dir}/stop`, '');
    expect(await wait.answer).toEqual({ status: 200, body: holder, retryAfter: null });
    const all = await Promise.all(sent.map((r) => r.answer));
    expect(all.map((a) => a.status)).toEqual(Array(10).fill(200));
  });

  it('a worker file that fails after a restart backs off on its own thread: the other thread serves on', async () => {
    const dir = tempDir();
    const marker = `${dir}/marker`;
    const s = await start({
      num: 2,
      bufferSize: 2,
      worker: 'fault-restart.php',
      workerExtra: 'max_consecutive_failures -1',
      env: { FAULT_MARKER: marker },
    });
    expect((await send(`${s.url}/arm`).answer).status).toBe(500);
    await waitFor(() => s.logs().some((l) => String(l.msg).includes('the worker file failed after a restart')), 20000);
    // The backing-off thread's ring holds at most 2; everything else goes to the other thread.
    const sent: ReturnType<typeof send>[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(send(`${s.url}/r${i}`));
      await waitFor(() => sent.filter((r) => r.done).length >= sent.length - 2, 20000);
    }
    const early = await Promise.all(sent.filter((r) => r.done).map((r) => r.answer));
    expect(early.length).toBeGreaterThanOrEqual(8);
    for (const a of early) expect(a.status).toBe(200);
    fs.rmSync(marker);
    await waitFor(() => s.logs().some((l) => String(l.msg).includes('the worker file started again')), 20000);
    const all = await Promise.all(sent.map((r) => r.answer));
    expect(all.map((a) => a.body)).toEqual(sent.map((_, i) => `ok /r${i}`));
  });

  it('a request timeout interrupts only the thread that overran: the other thread\'s CPU-bound request finishes', async () => {
    const s = await start({ num: 2, workerExtra: 'request_timeout 4s' });
    const dir = tempDir();
    const late = send(`${s.url}/spin?mark=${dir}/a&stop=${dir}/never`);
    const a = await markOf(`${dir}/a`);
    // The second starts two seconds later, so its deadline is two seconds after the first's:
    // time enough (also under TSan) to see the 504 and release it before its own deadline.
    await new Promise((r) => setTimeout(r, 2000));
    const other = send(`${s.url}/spin?mark=${dir}/b&stop=${dir}/stop`);
    const b = await markOf(`${dir}/b`);
    expect(b).not.toBe(a);
    const timedOut = await late.answer;
    expect(timedOut.status).toBe(504);
    fs.writeFileSync(`${dir}/stop`, '');
    const answer = await other.answer;
    expect(answer).toEqual({ status: 200, body: b, retryAfter: null });
  });

  it('drains N threads on SIGTERM: requests in flight on every thread are answered, exit 0', async () => {
    const s = await start({ num: 2 });
    const dir = tempDir();
    const waits = [0, 1].map((i) => send(`${s.url}/wait?mark=${dir}/w${i}&stop=${dir}/stop`));
    const tids = [await markOf(`${dir}/w0`), await markOf(`${dir}/w1`)];
    expect(tids[0]).not.toBe(tids[1]);
    s.proc.kill('SIGTERM');
    await waitFor(() => s.output.some((l) => /drain|stopping|shutting/i.test(l)), 20000);
    fs.writeFileSync(`${dir}/stop`, '');
    const answers = await Promise.all(waits.map((w) => w.answer));
    expect(answers.map((x) => x.status)).toEqual([200, 200]);
    expect(answers.map((x) => x.body).sort()).toEqual([...tids].sort());
    expect(await s.exited).toBe(0);
    server = undefined;
  });

  it('a coroutine never resumes on another thread', async () => {
    const s = await start({ num: 2 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(`${s.url}/affinity`).answer));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.split(',')).toHaveLength(1); // every coroutine of a request ran on one thread
    }
    expect(new Set(answers.map((a) => a.body)).size).toBe(2); // and both threads served
  });

  it('shares one OPcache between the threads', async () => {
    const s = await start({ num: 2 });
    const seen = new Map<string, { enabled: boolean; start: number }>();
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const a = await send(`${s.url}/opcache`).answer;
      const o = JSON.parse(a.body) as { tid: string; enabled: boolean; start: number };
      seen.set(o.tid, o);
    }
    expect(seen.size).toBe(2);
    const [x, y] = [...seen.values()];
    expect(x!.enabled).toBe(true);
    expect(y!.enabled).toBe(true);
    expect(x!.start).toBe(y!.start); // one shared memory segment, started once
  });

  it('allows more threads than CPUs, with a log line saying so', async () => {
    const cpus = os.availableParallelism();
    const s = await start({ num: cpus + 1 });
    const line = await waitFor(() => s.logs().find((l) => String(l.msg).includes('more PHP threads than CPUs')), 20000);
    expect(line).toMatchObject({ level: 'warn', threads: cpus + 1, cpus });
    const answers = await Promise.all(Array.from({ length: 3 * (cpus + 1) }, () => send(`${s.url}/id`).answer));
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });
});

