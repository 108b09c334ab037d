// C stack overflows in handlers. Handlers run on PHP Fiber stacks and PHP
// 8.2 has no zend.max_allowed_stack_size: deep recursion in C code used to SIGSEGV the whole
// server. Now fibers get 8 MiB stacks (fiber.stack_size) and an overflow fails that request
// with 500 and restarts the thread's interpreter, like a fatal error. Every request in flight on
// the same PHP thread gets 500 from that restart (as with any fatal error); other threads and
// the requests that come later are served.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, waitFor, type RunningServer } from './helpers/server.js';

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

const RESTART = 'PHP thread 0: restarting the interpreter after a fatal error';
const messages = (s: RunningServer, re: RegExp): Record<string, unknown>[] =>
  s.logs().filter((l) => typeof l.msg === 'string' && re.test(l.msg));

describe('a C stack overflow in a handler', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'stack-app.php' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('runs handlers on 8 MiB fiber stacks: a 2000-deep serialize() answers 200 (it overflowed 2 MiB)', async () => {
    const r = await get(`${server.url}/serialize?depth=2000`);
    expect(r).toEqual({ status: 200, body: 'serialized 20006' });
    expect((await get(`${server.url}/mem`)).body).toMatch(/ stack 8M$/);
    expect((await get(`${server.url}/array-map?depth=5000`)).body).toBe('mapped 5000');
  });

  // Each case overflows again on the same thread: the signal must be usable after a jump.
  for (const [name, url, what] of [
    ['serialize() of a 300000-deep array', '/serialize?depth=300000', 'handler of this request'],
    ['a callback recursing through array_map() 100000 deep', '/array-map?depth=100000', 'handler of this request'],
    ['serialize() in a Fiber the handler started', '/fiber-serialize?depth=300000', 'handler of this request'],
    ['serialize() in a coroutine the handler spawned', '/spawn-serialize?depth=300000', 'coroutine spawned by this request'],
  ] as const) {
    it(`fails only that request with 500 and serves on: ${name}`, async () => {
      const overflows = messages(server, /^stack overflow: /).length;
      const restarts = messages(server, new RegExp(`^${RESTART}$`)).length;
      const r = await get(server.url + url);
      expect(r).toEqual({ status: 500, body: 'Internal Server Error\n' });
      const line = await waitFor(() => messages(server, /^stack overflow: /)[overflows]);
      expect(line.msg).toBe(
        `stack overflow: the ${what} ran out of its 8192 KiB C stack (fiber.stack_size) in deep recursion in C code ` +
          '(serialize()/json_encode() of a deeply nested value, a callback recursing through array_map(), ...); ' +
          'the request fails with 500 and PHP thread 0 restarts its interpreter',
      );
      expect(line.level).toBe('error');
      expect(line.reqId).toMatch(/^req-/); // logged while the request was still pending
      await waitFor(() => messages(server, new RegExp(`^${RESTART}$`)).length > restarts);
      // The process is alive and the interpreter restarted (the worker file's counter starts over).
      expect(await get(`${server.url}/after`)).toEqual({ status: 200, body: 'ok /after 1' });
      expect(await get(`${server.url}/serialize?depth=2000`)).toEqual({ status: 200, body: 'serialized 20006' });
    });
  }

  it('answers 500 to the requests in flight on the same thread (the restart), and serves the next ones', async () => {
    const sleeping = messages(server, /^sleeping$/).length;
    const neighbours = Array.from({ length: 3 }, () => get(`${server.url}/sleep?ms=3000`));
    // They are running (suspended in usleep) before the overflow starts.
    await waitFor(() => messages(server, /^sleeping$/).length >= sleeping + 3);
    expect((await get(`${server.url}/serialize?depth=300000`)).status).toBe(500);
    for (const n of await Promise.all(neighbours)) expect(n).toEqual({ status: 500, body: 'Internal Server Error\n' });
    const next = await Promise.all(Array.from({ length: 5 }, (_, i) => get(`${server.url}/n${i}`)));
    expect(next.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  });

  it('does not use the C stack for PHP-only recursion: 100000 deep answers 200, 3 million deep hits memory_limit', async () => {
    // User function calls live on the VM stack (heap), with the tracing JIT too.
    expect(await get(`${server.url}/plain?depth=100000`)).toEqual({ status: 200, body: 'recursed 100000' });
    const r = await get(`${server.url}/plain?depth=3000000`);
    expect(r).toEqual({ status: 500, body: 'Internal Server Error\n' });
    await waitFor(() => messages(server, /Allowed memory size of \d+ bytes exhausted/).length > 0);
    expect((await get(`${server.url}/after-plain`)).status).toBe(200);
  });
});

describe('fiber.stack_size set in php_ini', () => {
  it('overrides the 8M default, and an overflow of the smaller stack is caught too', async () => {
    const server = await startServer({ worker: 'stack-app.php', globalExtra: 'php_ini fiber.stack_size 2M' });
    try {
      expect((await get(`${server.url}/mem`)).body).toMatch(/ stack 2M$/);
      expect(await get(`${server.url}/serialize?depth=1000`)).toEqual({ status: 200, body: 'serialized 10006' });
      expect((await get(`${server.url}/serialize?depth=2000`)).status).toBe(500); // overflowed 2 MiB
      const line = await waitFor(() => messages(server, /^stack overflow: /)[0]);
      expect(line.msg).toMatch(/ran out of its 2048 KiB C stack \(fiber\.stack_size\)/);
      expect(await get(`${server.url}/after`)).toEqual({ status: 200, body: 'ok /after 1' });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('faults the guard must not swallow', () => {
  it('still crashes the process on a fault that is no stack overflow (a bad pointer through FFI)', async () => {
    const started = Date.now();
    const server = await startServer({ worker: 'stack-app.php', globalExtra: 'php_ini ffi.enable 1' });
    expect((await get(`${server.url}/ok`)).status).toBe(200);
    await fetch(`${server.url}/bad-pointer`).catch(() => undefined); // the connection dies with the process
    expect(await server.exited).toBeNull();
    expect(server.proc.signalCode).toBe('SIGSEGV');
    expect(messages(server, /^stack overflow/)).toEqual([]);
    // Where core dumps are on, the kernel wrote one into our working directory: not ours to keep.
    for (const f of [`core.${server.proc.pid}`, 'core']) {
      const st = fs.statSync(path.resolve(f), { throwIfNoEntry: false });
      if (st?.isFile() && st.mtimeMs >= started) fs.rmSync(path.resolve(f));
    }
  });

  it('fails a worker file that overflows on its top level with a clear error, not a SIGSEGV', async () => {
    const source = `<?php
$a = [];
for ($i = 0; $i < 300000; $i++) $a = [$a];
echo strlen(serialize($a));
FrankenPHP\\HttpServer::onRequest(function ($req, $res) { $res->end(); });
`;
    const err = await startServer({ workerSource: source }).then(
      () => new Error('the server started'),
      (e: Error) => e,
    );
    expect(err.message).toMatch(/^phpasync exited with 1 before listening/);
    expect(err.message).toContain("stack overflow: deep recursion in C code on PHP thread 0's own stack (worker file top level");
    expect(err.message).toMatch(/worker file .*worker\.php failed: stack overflow \(see the log line above\)/);
  });
});
