// Several supervised processes behind one address (src/supervisor/): on the NTS PHP of this
// machine `num 2` runs two processes, each answering its own pid (getmypid()).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import autocannon from 'autocannon';
import { describe, expect, it } from 'vitest';

import { runCli, startServer, tempDir, waitFor, writeCaddyfile, type RunningServer } from './helpers/server.js';

interface Answer {
  status: number;
  body: string;
}

/** One GET; `agent` false opens a new connection, an agent reuses its keep-alive one. */
function get(url: string, agent: http.Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // A hang would only show as the test's timeout: name the request instead.
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to GET ${url} within 20 s`)));
  });
}

/** A client that keeps one connection open and sends on it only. */
function oneConnection(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

/** `n` keep-alive connections, grouped by the pid of the child serving each. */
async function connectionsByChild(url: string, n: number): Promise<Map<string, http.Agent[]>> {
  const by = new Map<string, http.Agent[]>();
  for (let i = 0; i < n; i++) {
    const a = oneConnection();
    const r = await get(url + '/', a);
    expect(r.status).toBe(200);
    by.set(r.body, [...(by.get(r.body) ?? []), a]);
  }
  return by;
}

/** Whether a process with this pid exists (a zombie counts until it is reaped). */
function alive(pid: string): boolean {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function start(): Promise<RunningServer> {
  return startServer({ worker: 'processes.php', num: 2 });
}

describe('num 2 on an NTS PHP: two processes share the address', () => {
  it('both serve, and a CPU-bound request on one does not hold up the other', async () => {
    const srv = await start();
    try {
      const pids = new Set<string>();
      for (let i = 0; i < 6; i++) pids.add((await get(srv.url + '/')).body);
      expect(pids.size).toBe(2);
      expect(pids.has(String(srv.proc.pid))).toBe(false); // children serve, not the supervisor
      const by = await connectionsByChild(srv.url, 2);
      const [[pidA, [a]], [pidB, [b]]] = [...by.entries()] as [string, http.Agent[]][];
      expect(pidA).not.toBe(pidB);

      let busyDone = false;
      const busy = get(srv.url + '/busy?ms=3000', a).then((r) => ((busyDone = true), r));
      await sleep(200); // let it start (one PHP thread per process: the loop holds it)
      for (let i = 0; i < 5; i++) {
        const r = await get(srv.url + '/', b);
        expect(r).toEqual({ status: 200, body: pidB });
        expect(busyDone).toBe(false); // answered while the other process is still busy
      }
      expect(await busy).toEqual({ status: 200, body: pidA });
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  for (const how of ['SIGSEGV from PHP', 'SIGKILL'] as const) {
    it(`a child killed by ${how}: its in-flight requests fail, every later one is answered, it comes back`, async () => {
      const srv = await start();
      try {
        const by = await connectionsByChild(srv.url, 4);
        const [[victim, [a1, a2]], [survivor]] = [...by.entries()] as [string, http.Agent[]][];
        expect(by.get(victim)!.length).toBe(2);

        const slow = get(srv.url + '/slow?ms=5000', a1);
        await sleep(300); // the child reports its in-flight count every 20 ms
        const kill = how === 'SIGKILL' ? (process.kill(Number(victim), 'SIGKILL'), undefined) : get(srv.url + '/segv', a2);
        await Promise.all([
          expect(slow).rejects.toThrow(/socket hang up|ECONNRESET/),
          kill && expect(kill).rejects.toThrow(/socket hang up|ECONNRESET/),
        ]);

        // At once, while the dead child is not back yet: every request is answered.
        for (let i = 0; i < 20; i++) {
          const r = await get(srv.url + '/').catch((err: Error) => {
            throw new Error(`request ${i} after the kill: ${err.message}\n${srv.output.join('\n')}`);
          });
          expect(r.status).toBe(200);
        }
        const signal = how === 'SIGKILL' ? 'SIGKILL' : 'SIGSEGV';
        const died = await waitFor(() => srv.logs().find((l) => l['exit'] === signal));
        expect(died['childPid']).toBe(Number(victim));
        expect(died['inFlight']).toBeGreaterThanOrEqual(1);
        expect(String(died['msg'])).toMatch(new RegExp(`child \\d died \\(${signal}\\) with \\d+ request`));
        await waitFor(() => srv.logs().some((l) => String(l['msg']).endsWith('is serving again')), 10_000);
        const pids = new Set<string>();
        for (let i = 0; i < 6; i++) pids.add((await get(srv.url + '/')).body);
        expect(pids.has(survivor)).toBe(true);
        expect(pids.has(victim)).toBe(false);
        expect(pids.size).toBe(2);
      } finally {
        expect(await srv.stop()).toBe(0);
      }
    });
  }

  // The window between a child's death and the supervisor reading the end of its channel, made
  // wide: connections handed to a stopped child sit unread in its channel, then it is killed.
  it('connections handed to a child that dies before taking them go to another child', async () => {
    const srv = await start();
    let victim = '';
    try {
      const by = await connectionsByChild(srv.url, 2);
      const [[stopped], [survivor]] = [...by.entries()] as [string, http.Agent[]][];
      victim = stopped;
      process.kill(Number(victim), 'SIGSTOP');
      let answered = 0;
      const gets = Array.from({ length: 6 }, (_, i) =>
        get(srv.url + '/').then(
          (r) => (answered++, r),
          (err: Error) => new Error(`request ${i}: ${err.message}`),
        ),
      );
      // Handed in turn: once the survivor answered two, at least one went to the stopped child.
      await waitFor(() => answered >= 2);
      await sleep(200); // and the others reached the supervisor
      process.kill(Number(victim), 'SIGKILL');
      const results = await Promise.all(gets);
      expect(results.filter((r) => r instanceof Error)).toEqual([]);
      for (const r of results) expect(r).toEqual({ status: 200, body: expect.stringMatching(/^\d+$/) });
      expect(results.some((r) => (r as Answer).body === victim)).toBe(false);
      expect(results.some((r) => (r as Answer).body === survivor)).toBe(true);
      await waitFor(() => srv.logs().some((l) => l['msg'] === 'the child ended before taking some connections: handed to the others'));
    } finally {
      if (victim && alive(victim)) process.kill(Number(victim), 'SIGKILL'); // a failure above left it stopped
      expect(await srv.stop()).toBe(0);
    }
  });

  it('SIGTERM, then a child dies without taking its connections: a draining child answers them', async () => {
    const srv = await startServer({ worker: 'processes.php', num: 2, globalOptions: 'admin 127.0.0.1:0\n\tmetrics' });
    let victim = '';
    try {
      const line = await waitFor(() => srv.output.find((l) => l.includes('Admin endpoint listening at')));
      const admin = /Admin endpoint listening at (http:\/\/[^ "]+)/.exec(line)![1]!;
      const by = await connectionsByChild(srv.url, 2);
      const [[stopped], [survivor, [b]]] = [...by.entries()] as [string, http.Agent[]][];
      victim = stopped;
      // Keeps the survivor draining (busy) after the SIGTERM; sent before the victim stops.
      const keep = get(srv.url + '/slow?ms=3000', b);
      const inFlight = async (): Promise<number> =>
        Number(/^phpasync_requests_in_flight (\S+)$/m.exec(await (await fetch(`${admin}/metrics`)).text())![1]);
      while ((await inFlight()) === 0) await sleep(20);
      process.kill(Number(victim), 'SIGSTOP');
      let answered = 0;
      const held = Array.from({ length: 4 }, (_, i) =>
        get(srv.url + '/').then(
          (r) => (answered++, r),
          (err: Error) => new Error(`request ${i}: ${err.message}`),
        ),
      );
      await waitFor(() => answered >= 2); // in turn: at least one went to the stopped child
      srv.proc.kill('SIGTERM');
      await waitFor(() => srv.logs().some((l) => l['msg'] === 'shutting down'));
      process.kill(Number(victim), 'SIGKILL');
      const results = await Promise.all(held);
      expect(results.filter((r) => r instanceof Error)).toEqual([]);
      for (const r of results) expect(r).toEqual({ status: 200, body: survivor });
      expect(await keep).toEqual({ status: 200, body: survivor });
      expect(await srv.exited).toBe(0);
    } finally {
      if (victim && alive(victim)) process.kill(Number(victim), 'SIGKILL');
      await srv.stop();
    }
  });

  it('a child that does not read its channel gets no new connections until it reads again', async () => {
    const srv = await start();
    let victim = '';
    try {
      const by = await connectionsByChild(srv.url, 2);
      const [[stopped], [survivor]] = [...by.entries()] as [string, http.Agent[]][];
      victim = stopped;
      process.kill(Number(victim), 'SIGSTOP');
      // In turn: some of these are sent to the stopped child and wait for it.
      const held = Array.from({ length: 4 }, (_, i) => get(srv.url + '/').catch((err: Error) => new Error(`held ${i}: ${err.message}`)));
      await waitFor(() => srv.logs().some((l) => String(l['msg']).endsWith('does not read its channel: no new connections for it until it does')), 15_000);
      for (let i = 0; i < 6; i++) expect(await get(srv.url + '/')).toEqual({ status: 200, body: survivor });
      process.kill(Number(victim), 'SIGCONT');
      const results = await Promise.all(held);
      expect(results.filter((r) => r instanceof Error)).toEqual([]);
      expect(results.some((r) => (r as Answer).body === victim)).toBe(true); // served once it went on
      await waitFor(() => srv.logs().some((l) => String(l['msg']).endsWith('reads its channel again')));
      const pids = new Set<string>();
      for (let i = 0; i < 4; i++) pids.add((await get(srv.url + '/')).body);
      expect(pids).toEqual(new Set([victim, survivor])); // back in the rotation
    } finally {
      if (victim && alive(victim)) process.kill(Number(victim), 'SIGCONT');
      expect(await srv.stop()).toBe(0);
    }
  });

  // A child with no file descriptor left cannot receive a connection: Node drops the message
  // (it answers the sender's internal handshake with a refusal and says nothing to either side).
  it('connections a child out of file descriptors never received go to another child', async () => {
    const srv = await start();
    let victim = '';
    try {
      const by = await connectionsByChild(srv.url, 2);
      const [[full], [survivor]] = [...by.entries()] as [string, http.Agent[]][];
      victim = full;
      // No new descriptor in the victim from here on (the ones it has stay open).
      const limited = await new Promise<number | null>((resolve) =>
        spawn('prlimit', ['--pid', victim, '--nofile=3:3'], { stdio: 'inherit' }).on('exit', resolve),
      );
      expect(limited).toBe(0);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => get(srv.url + '/').catch((err: Error) => new Error(`request ${i}: ${err.message}`))),
      );
      expect(results.filter((r) => r instanceof Error)).toEqual([]);
      for (const r of results) expect(r).toEqual({ status: 200, body: survivor });
      expect(srv.logs().some((l) => String(l['msg']).includes('did not receive'))).toBe(true);
    } finally {
      if (victim && alive(victim)) process.kill(Number(victim), 'SIGKILL'); // it cannot drain without descriptors
      const code = await srv.stop();
      expect(code, srv.output.join('\n')).toBe(0);
    }
  });

  it('SIGHUP under continuous load: the children are replaced one at a time, no error, no non-2xx', async () => {
    const srv = await start();
    try {
      const before = new Set<string>();
      for (let i = 0; i < 4; i++) before.add((await get(srv.url + '/')).body);
      // Two kinds of clients at once: autocannon, always a request in flight on each
      // connection; and clients that pause a little between requests on their connection, so
      // that some connection is idle at the moment its child starts draining.
      const load = autocannon({ url: srv.url + '/slow?ms=10', connections: 8, duration: 6 });
      let stop = false;
      const failures: string[] = [];
      let answered = 0;
      const pausing = async (): Promise<void> => {
        const agent = oneConnection();
        while (!stop) {
          try {
            const r = await get(srv.url + '/', agent);
            if (r.status === 200) answered++;
            else failures.push(`status ${r.status}: ${r.body}`);
          } catch (err) {
            failures.push(`${(err as NodeJS.ErrnoException).code}: ${(err as Error).message}`);
          }
          await sleep(Math.random() * 40);
        }
      };
      const clients = Array.from({ length: 8 }, pausing);
      await sleep(1000);
      srv.proc.kill('SIGHUP');
      await waitFor(() => srv.logs().some((l) => l['msg'] === 'reload done'), 20_000);
      let loadOver = false;
      const r = await load.then((x) => ((loadOver = true), x));
      expect(loadOver).toBe(true); // the reload was done while the load ran
      stop = true;
      await Promise.all(clients);
      expect(failures).toEqual([]);
      expect(answered).toBeGreaterThan(0);
      expect(r.errors).toBe(0);
      expect(r.timeouts).toBe(0);
      expect(r.non2xx).toBe(0);
      expect(r['2xx']).toBeGreaterThan(0);
      const after = new Set<string>();
      for (let i = 0; i < 4; i++) after.add((await get(srv.url + '/')).body);
      expect(after.size).toBe(2);
      for (const pid of after) expect(before.has(pid)).toBe(false);
      expect(srv.logs().filter((l) => String(l['msg']).startsWith('reload: child')).length).toBe(2);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('SIGTERM under load: every request sent on an accepted connection is answered, exit 0', async () => {
    const srv = await start();
    const failures: string[] = [];
    let answered = 0;
    let answeredAfterTerm = 0;
    let termSent = false;
    // Eight clients, each sending one request after the other on its own connection, until the
    // server refuses a new connection (its listener closed): the only error allowed.
    const client = async (): Promise<void> => {
      const agent = oneConnection();
      for (;;) {
        try {
          const r = await get(srv.url + '/slow?ms=20', agent);
          if (r.status !== 200) failures.push(`status ${r.status}`);
          answered++;
          if (termSent) answeredAfterTerm++;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ECONNREFUSED') failures.push(`${code}: ${(err as Error).message}`);
          return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    const long = get(srv.url + '/slow?ms=1500');
    await sleep(800);
    termSent = true;
    const code = srv.stop('SIGTERM');
    await Promise.all(clients);
    expect(await long).toEqual({ status: 200, body: expect.stringMatching(/^\d+$/) });
    expect(await code).toBe(0);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    expect(answeredAfterTerm).toBeGreaterThan(0); // requests in flight at SIGTERM were answered
    // The children's counters, summed (src/supervisor/stats.ts): every request was dispatched.
    const down = srv.logs().find((l) => l['msg'] === 'shutting down') as { stats: Record<string, number> };
    expect(down.stats['dispatches']).toBeGreaterThan(0);
  });

  it('a second SIGTERM during the drain kills the children and exits 1', async () => {
    const srv = await start();
    const pids = new Set<string>();
    for (let i = 0; i < 4; i++) pids.add((await get(srv.url + '/')).body);
    const slow = get(srv.url + '/slow?ms=20000').catch((err: Error) => err);
    await sleep(300);
    srv.proc.kill('SIGTERM');
    await waitFor(() => srv.logs().filter((l) => l['msg'] === 'draining').length === 2);
    srv.proc.kill('SIGTERM');
    expect(await srv.exited).toBe(1);
    expect(await slow).toBeInstanceOf(Error);
    await waitFor(() => [...pids].every((pid) => !alive(pid))); // killed, and reaped by init
  });

  it('phpasync reload --pidfile: the running server replaces its children; the pid file goes with it', async () => {
    const pidfile = path.join(tempDir(), 'phpasync.pid');
    const srv = await startServer({ worker: 'processes.php', num: 2, runArgs: ['--pidfile', pidfile] });
    try {
      expect(fs.readFileSync(pidfile, 'utf8').trim()).toBe(String(srv.proc.pid));
      const r = await runCli(['reload', '--pidfile', pidfile]);
      expect(r).toEqual({ code: 0, out: `phpasync reload: SIGHUP sent to ${srv.proc.pid}\n` });
      await waitFor(() => srv.logs().some((l) => l['msg'] === 'reload done'), 20_000);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
    expect(fs.existsSync(pidfile)).toBe(false);
    const gone = await runCli(['reload', '--pidfile', pidfile]);
    expect(gone.code).toBe(1);
    expect(gone.out).toContain(`cannot read the pid file ${pidfile}`);
    // A stale pid file naming another program: no signal is sent (SIGHUP would end this test run).
    fs.writeFileSync(pidfile, `${process.pid}\n`);
    const stale = await runCli(['reload', '--pidfile', pidfile]);
    expect(stale.code).toBe(1);
    expect(stale.out).toContain(`phpasync: pid ${process.pid} (from ${pidfile}) is not a phpasync server running several processes`);
    const usage = await runCli(['reload']);
    expect(usage.code).toBe(2);
    expect(usage.out).toContain('no Caddyfile in'); // as caddy reload: ./Caddyfile by default
  });

  it('a worker file that fails in the children fails the start: exit 1 with PHP\'s message', async () => {
    const r = await runCli(['run', '--config', writeCaddyfile(tempDir(), { worker: 'parse-error.php', num: 2 })]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/parse-error\.php failed: Unclosed '\{' on line 3/);
    expect(r.out).toMatch(/child \d exited before serving \(exit code 1\)/);
  });

  it('processes takes 1..256: anything else is a config error naming the range (exit 2)', async () => {
    const file = writeCaddyfile(tempDir(), { worker: 'processes.php', globalOptions: 'processes 0' });
    const r = await runCli(['validate', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("processes must be an integer in the range 1..256, got '0'");
  });

  it('processes 1: a request that arrives while the only child restarts waits for it and is answered', async () => {
    const srv = await startServer({ worker: 'processes.php', globalOptions: 'processes 1' });
    try {
      const before = (await get(srv.url + '/')).body;
      process.kill(Number(before), 'SIGKILL');
      await waitFor(() => !alive(before));
      const r = await get(srv.url + '/'); // accepted by the supervisor, held until the new child serves
      expect(r.status).toBe(200);
      expect(r.body).not.toBe(before);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('processes 1: one supervised child, which a SIGHUP replaces', async () => {
    const srv = await startServer({ worker: 'processes.php', globalOptions: 'processes 1' });
    try {
      const before = (await get(srv.url + '/')).body;
      expect(before).not.toBe(String(srv.proc.pid));
      srv.proc.kill('SIGHUP');
      await waitFor(() => srv.logs().some((l) => l['msg'] === 'reload done'), 20_000);
      const after = (await get(srv.url + '/')).body;
      expect(after).not.toBe(before);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('the supervisor killed by SIGKILL: the children notice, finish and exit (no orphan keeps serving)', async () => {
    const srv = await start();
    const pids = new Set<string>();
    for (let i = 0; i < 4; i++) pids.add((await get(srv.url + '/')).body);
    expect(pids.size).toBe(2);
    srv.proc.kill('SIGKILL');
    await srv.exited;
    await waitFor(() => [...pids].every((pid) => !alive(pid)), 10_000);
  });
});
