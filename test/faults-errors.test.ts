// Faults inside handlers: exceptions, exit()/die(), fatal errors and the interpreter restart.
// Every test runs the real CLI; the thread must keep serving afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, startServer, tempDir, waitFor, writeCaddyfile, type RunningServer } from './helpers/server.js';

async function get(url: string): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text(), headers: r.headers };
}

const logLine = (s: RunningServer, re: RegExp): Record<string, unknown> | undefined =>
  s.logs().find((l) => typeof l.msg === 'string' && re.test(l.msg));

describe('exceptions, exit() and fatal errors in a handler', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'fault-app.php' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers an uncaught exception with a generic 500 and logs class, message and file:line with the reqId', async () => {
    const r = await get(`${server.url}/throw`);
    expect(r.status).toBe(500);
    expect(r.body).toBe('Internal Server Error\n');
    expect(r.headers.get('x-secret')).toBeNull(); // nothing the handler set leaks out
    const line = await waitFor(() => logLine(server, /^Uncaught BoomException/));
    expect(line.msg).toMatch(/^Uncaught BoomException: boom from the handler in .*fault-app\.php:\d+$/);
    expect(line.level).toBe('error');
    expect(line.reqId).toMatch(/^req-/);
    expect((await get(`${server.url}/after-throw`)).body).toBe('ok /after-throw');
  });

  it('logs a warning raised while the request\'s $_GET is built with that request\'s reqId', async () => {
    const r = await get(`${server.url}/after-throw?a${'[x]'.repeat(70)}=1`);
    expect(r.status).toBe(200);
    const line = await waitFor(() => logLine(server, /Input variable nesting level exceeded/));
    expect(line).toMatchObject({ level: 'warn', reqId: expect.stringMatching(/^req-/) });
  });

  it('ends the request with what was set and written when the handler calls exit()', async () => {
    const r = await get(`${server.url}/exit`);
    expect(r.status).toBe(202);
    expect(r.headers.get('x-exit')).toBe('yes');
    expect(r.body).toBe('written before exit');
    expect((await get(`${server.url}/after-exit`)).body).toBe('ok /after-exit');
  });

  it('sends what was echoed plus die()s message', async () => {
    const r = await get(`${server.url}/die`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('echoed died');
    expect((await get(`${server.url}/after-die`)).body).toBe('ok /after-die');
  });

  it('does not let an unclosed ob_start() swallow the next response', async () => {
    expect((await get(`${server.url}/ob-leak`)).body).toBe('ob-leak done');
    expect((await get(`${server.url}/after-ob`)).body).toBe('ok /after-ob');
  });

  it('logs an exception thrown by the callback of a buffer the handler left open as that request\'s, nothing restarts', async () => {
    const count = Number((await get(`${server.url}/count`)).body);
    const sleepers = Array.from({ length: 3 }, () => get(`${server.url}/sleep-short`));
    await new Promise((r) => setTimeout(r, 50));
    const r = await get(`${server.url}/ob-throw-open`);
    expect(r).toMatchObject({ status: 200, body: 'ended before the buffer closed' });
    for (const s of await Promise.all(sleepers)) expect(s).toMatchObject({ status: 200, body: 'slept' });
    await waitFor(() => logLine(server, /^Uncaught RuntimeException: from an ob callback in .*fault-app\.php:\d+$/));
    expect((await get(`${server.url}/count`)).body).toBe(String(count + 1));
    expect(server.output.join('\n')).not.toContain('from an ob callback in Unknown');
  });

  it('answers a fatal error PHP raises while compiling with 500, restarts the interpreter and serves on', async () => {
    const before = server.logs().filter((l) => l.msg === 'PHP thread 0: restarting the interpreter after a fatal error').length;
    const r = await get(`${server.url}/compile-fatal`);
    expect(r.status).toBe(500);
    expect(r.body).toBe('Internal Server Error\n');
    const fatal = await waitFor(() => logLine(server, /PHP Fatal error: +Cannot declare class TwiceDeclared/));
    expect(fatal.reqId).toMatch(/^req-/);
    await waitFor(() => server.logs().filter((l) => l.msg === 'PHP thread 0: restarting the interpreter after a fatal error').length > before);
    // The restarted interpreter ran the worker file again: its static counter starts over.
    expect((await get(`${server.url}/count`)).body).toBe('1');
    expect((await get(`${server.url}/after`)).body).toBe('ok /after');
  });

  it('contains memory exhaustion to its request: 500 for it, the requests in flight with it finish, then the interpreter restarts', async () => {
    const restarts = (): number => server.logs().filter((l) => l.msg === 'PHP thread 0: restarting the interpreter after a request ran out of memory').length;
    const before = restarts();
    const sleepers = Array.from({ length: 3 }, () => get(`${server.url}/sleep-short`));
    await new Promise((r) => setTimeout(r, 50)); // all three are asleep in the reactor
    const r = await get(`${server.url}/oom`);
    expect(r.status).toBe(500);
    expect(r.body).toBe('Internal Server Error\n');
    for (const s of await Promise.all(sleepers)) expect(s).toMatchObject({ status: 200, body: 'slept' });
    const fatal = await waitFor(() => logLine(server, /Allowed memory size of 33554432 bytes exhausted/));
    expect(fatal.reqId).toMatch(/^req-/);
    const contained = await waitFor(() => server.logs().find((l) => l.reqId === fatal.reqId && String(l.msg).startsWith('request failed with a fatal error')));
    expect(contained.msg).toBe('request failed with a fatal error: answered 500; the thread restarts its interpreter once the other requests in flight are done');
    // The allocation that went over the limit is only freed by the restart, which follows once
    // the sleepers were answered; requests sent meanwhile wait in the ring and are served after.
    expect((await get(`${server.url}/count`)).body).toBe('1');
    expect(restarts()).toBe(before + 1);
    expect((await get(`${server.url}/after`)).body).toBe('ok /after');
  });

  for (const [name, url, message] of [
    ['trigger_error(E_USER_ERROR)', '/user-error', /PHP Fatal error: +user asked for a fatal/],
  ] as const) {
    it(`contains a fatal error (${name}) to its request: 500 for it, the requests in flight with it and the interpreter go on`, async () => {
      const restarts = (): number => server.logs().filter((l) => l.msg === 'PHP thread 0: restarting the interpreter after a fatal error').length;
      const before = restarts();
      const count = Number((await get(`${server.url}/count`)).body);
      const sleepers = Array.from({ length: 3 }, () => get(`${server.url}/sleep-short`));
      await new Promise((r) => setTimeout(r, 50)); // all three are asleep in the reactor
      const r = await get(server.url + url);
      expect(r.status).toBe(500);
      expect(r.body).toBe('Internal Server Error\n');
      for (const s of await Promise.all(sleepers)) expect(s).toMatchObject({ status: 200, body: 'slept' });
      const fatal = await waitFor(() => logLine(server, message));
      expect(fatal.reqId).toMatch(/^req-/);
      const contained = await waitFor(() => server.logs().find((l) => l.reqId === fatal.reqId && String(l.msg).startsWith('request failed with a fatal error')));
      expect(contained.msg).toBe('request failed with a fatal error: answered 500; the thread goes on');
      // Same interpreter: the worker's static counter goes on, nothing restarted.
      expect((await get(`${server.url}/count`)).body).toBe(String(count + 1));
      expect(restarts()).toBe(before);
      // What the failed handler held was freed by unwinding it: a second one fails the same way.
      expect((await get(server.url + url)).status).toBe(500);
      expect((await get(`${server.url}/after`)).body).toBe('ok /after');
    });
  }

  it('serves the requests that waited in the ring during a fatal error after the restart', async () => {
    const fatal = fetch(`${server.url}/fatal-slow`).then((r) => r.status);
    await new Promise((r) => setTimeout(r, 30)); // /fatal-slow is running: the others queue behind it
    const queued = Array.from({ length: 8 }, (_, i) => get(`${server.url}/q${i}`));
    expect(await fatal).toBe(500);
    const answers = await Promise.all(queued);
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      expect(a.body).toBe(`ok /q${i}`);
    }
  });

  it('answers 500 to the other in-flight (suspended) requests of the thread and logs each', async () => {
    const failedLine = 'request failed: PHP hit a fatal error on this thread';
    const before = server.logs().filter((l) => l.msg === failedLine).length;
    const sleepers = Array.from({ length: 3 }, () => get(`${server.url}/sleep`));
    await new Promise((r) => setTimeout(r, 200)); // all three are asleep in the reactor
    expect((await get(`${server.url}/compile-fatal`)).status).toBe(500);
    for (const s of await Promise.all(sleepers)) {
      expect(s.status).toBe(500);
      expect(s.body).toBe('Internal Server Error\n');
    }
    const lines = await waitFor(() => {
      const l = server.logs().filter((x) => x.msg === failedLine);
      return l.length >= before + 3 ? l.slice(before) : undefined;
    });
    expect(new Set(lines.map((l) => l.reqId)).size).toBe(3);
    expect(lines.every((l) => l.level === 'error')).toBe(true);
    expect((await get(`${server.url}/after`)).body).toBe('ok /after');
    // Not the request that raised the fatal error: PHP's own "Fatal error" line names it.
    expect(server.logs().filter((x) => x.msg === failedLine).length).toBe(before + 3);
  });
});

describe('a worker file that fails after a restart', () => {
  it('backs off with a clear log line and recovers once the file starts again', async () => {
    const marker = path.join(tempDir(), 'marker');
    const server = await startServer({ worker: 'fault-restart.php', env: { FAULT_MARKER: marker }, workerExtra: 'max_consecutive_failures -1' });
    try {
      expect((await get(`${server.url}/arm`)).status).toBe(500);
      const line = await waitFor(() => logLine(server, /the worker file failed after a restart \(1 in a row, no limit\)/));
      expect(line.msg).toMatch(/worker refuses to start: marker present[\s\S]*; retrying in 100 ms$/);
      // Sent while the thread cannot serve: it waits in the ring and is answered after recovery.
      const waiting = get(`${server.url}/waited`);
      await waitFor(() => logLine(server, /\(2 in a row, no limit\)/));
      fs.rmSync(marker);
      const r = await waiting;
      expect(r.status).toBe(200);
      expect(r.body).toBe('ok /waited');
      expect(await waitFor(() => logLine(server, /the worker file started again after \d+ failures/))).toBeTruthy();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('gives up after max_consecutive_failures: exits 1 naming the setting and the last error', async () => {
    const marker = path.join(tempDir(), 'marker');
    const server = await startServer({ worker: 'fault-restart.php', env: { FAULT_MARKER: marker }, workerExtra: 'max_consecutive_failures 2' });
    expect((await get(`${server.url}/arm`)).status).toBe(500);
    const code = await server.exited;
    expect(code).toBe(1);
    const all = server.output.join('\n');
    expect(all).toContain('the worker file failed 2 times in a row after a restart (max_consecutive_failures 2): giving up');
    expect(all).toContain('worker refuses to start: marker present');
  });
});

describe('fault settings in the Caddyfile', () => {
  for (const [setting, message] of [
    ['request_timeout 0s', "request_timeout must be a duration from 1ms to 24h (such as 30s or 1m30s) or off, got '0s'"],
    ['request_timeout soon', "request_timeout must be a duration from 1ms to 24h (such as 30s or 1m30s) or off, got 'soon'"],
    ['request_timeout 25h', "request_timeout must be a duration from 1ms to 24h (such as 30s or 1m30s) or off, got '25h'"],
    ['max_requests 0', "max_requests must be an integer in the range 1..4000000000, got '0'"],
    ['max_requests many', "max_requests must be an integer in the range 1..4000000000, got 'many'"],
  ] as const) {
    it(`refuses ${setting}`, async () => {
      const file = writeCaddyfile(tempDir(), { worker: 'hello.php', workerExtra: setting });
      const r = await runCli(['validate', '--config', file]);
      expect(r.code).toBe(2);
      expect(r.out).toContain(message);
    });
  }
});
