// The Async\ API and the hooks that make blocking calls yield, over real HTTP and real sockets.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { runCli, startServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

type J = Record<string, unknown>;

let server: RunningServer;
let tcp: net.Server;
let web: http.Server;
const port = (s: net.Server | http.Server): number => (s.address() as net.AddressInfo).port;

async function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: J }> {
  const res = await fetch(server.url + p, { headers });
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type') === 'application/json' ? (JSON.parse(text) as J) : { text } };
}

beforeAll(async () => {
  server = await startServer({ worker: 'async-api.php', bufferSize: 200 });
  // A slow line server: answers 100 ms after the first bytes, the rest 50 ms later.
  tcp = net.createServer((c) => {
    c.once('data', () => setTimeout(() => { c.write('line1\n'); setTimeout(() => c.end('rest'), 50); }, 100));
  });
  web = http.createServer((_q, r) => setTimeout(() => r.end('slow-body'), 100));
  await Promise.all([new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r)), new Promise<void>((r) => web.listen(0, '127.0.0.1', r))]);
});

afterAll(async () => {
  tcp.close();
  web.close();
  expect(await server.stop()).toBe(0);
});

describe('Async\\ API', () => {
  it('spawn runs after the spawner yields; await returns results in any order; args pass through', async () => {
    const { body } = await get('/order');
    expect(body.log).toEqual(['parent', 'a1', 'b1', 'b2', 'a2']);
    expect(body.results).toEqual(['A', 'B']);
    expect(body.ids).toEqual([true]);
    expect(body.args).toBe(5);
  });

  it('await rethrows the exception a coroutine ended with', async () => {
    const { body } = await get('/exception');
    expect(body).toEqual({ caught: 'RuntimeException: boom', getException: 'RuntimeException', completed: true, cancelled: false });
  });

  it('cancel() wakes a sleeping coroutine with AsyncCancellation; the first reason wins; before start it never runs', async () => {
    const { body } = await get('/cancel');
    expect(body.suspended).toBe(true);
    expect(body.await).toBe('Async\\AsyncCancellation: The coroutine was cancelled');
    expect(body.cancelled).toBe(true);
    expect(body.ms as number).toBeLessThan(1000);
    expect(body.before).toBe('Async\\AsyncCancellation: before start');
    expect(body.beforeStarted).toBe(false);
    expect(body.cancelCompleted).toBe('no error'); // cancelling a completed coroutine is a no-op
  });

  it('timeout() as await cancellation throws TimeoutException without cancelling the awaited coroutine', async () => {
    const { body } = await get('/timeout');
    expect(body.await).toBe('Async\\TimeoutException: Async\\await(): timeout of 30 ms reached');
    expect(body.ms as number).toBeGreaterThanOrEqual(29);
    expect(body.ms as number).toBeLessThan(250);
    expect(body.fast).toBe('fast');
    expect(body.stillRunning).toBe(true);
  });

  it('10 coroutines each delay(50), awaited together, answer well under 500 ms', async () => {
    const t0 = Date.now();
    const { body } = await get('/fanout');
    expect(Date.now() - t0).toBeLessThan(400);
    expect(body.ms as number).toBeLessThan(200);
    expect(body.results).toEqual({ k0: 0, k1: 1, k2: 4, k3: 9, k4: 16, k5: 25, k6: 36, k7: 49, k8: 64, k9: 81 });
    expect(body.errors).toEqual([]);
  });

  it('await_any_or_fail, await_all (fillNull), await_all_or_fail, await_first_success', async () => {
    const { body } = await get('/combinators');
    expect(body).toEqual({
      first: 'quick', res: { ok: 1, bad: null }, errs: { bad: 'x' }, orFail: 'LogicException: fail fast',
      success: 'win', beforeErrors: 1, empty: null,
    });
  });

  it('current_coroutine, get_coroutines, finally (in order, immediately once completed)', async () => {
    const { body } = await get('/introspection');
    expect(body).toEqual({ me: true, same: true, listed: true, finally: ['f1:1', 'f2', 'f3-immediate'], running: true, started: true });
  });

  it('bad input gets a clear error', async () => {
    const { body } = await get('/errors');
    expect(body).toEqual({
      awaitNonCoroutine: 'TypeError: Async\\await(): Argument #1 ($awaitable) must be of type Async\\Completable, stdClass given',
      delayNegative: 'ValueError: Async\\delay(): Argument #1 ($ms) must be greater than or equal to 0',
      timeoutZero: 'ValueError: Async\\timeout(): Argument #1 ($ms) must be greater than 0',
      awaitSelf: 'Error: Async\\await(): a coroutine cannot await itself',
      newCoroutine: 'Error: Async\\Coroutine cannot be created with new: use Async\\spawn()',
      newTimeout: 'Error: Call to private Async\\Timeout::__construct() from global scope',
      getExceptionRunning: 'Async\\AsyncException: Cannot get exception of a running coroutine',
      awaitAllBad: 'TypeError: Async\\await_all(): Argument #1 ($triggers) must contain only Async\\Coroutine or Async\\Timeout objects, int given',
      spawnNotCallable: 'TypeError: Async\\spawn(): Argument #1 ($task) must be a valid callback, function "no_such_function" not found or invalid function name',
      cancelBadReason: 'TypeError: Async\\Coroutine::cancel(): Argument #1 ($cancellation) must be of type ?Async\\AsyncCancellation, Exception given',
      fiberSuspend: 'Error: Async\\delay() cannot suspend from inside a Fiber started by the coroutine',
    });
  });
});

describe('structured concurrency', () => {
  it('children of a request that fails are cancelled; of one that succeeds, they finish', async () => {
    const res = await get('/children-abort?n=1');
    expect(res.status).toBe(500);
    const { body } = await get('/children-normal');
    const pid = body.pid as number;
    const aborted = path.join(os.tmpdir(), `phpasync-child-${pid}-1`);
    const normal = path.join(os.tmpdir(), `phpasync-child-normal-${pid}`);
    await waitFor(() => fs.existsSync(aborted) && fs.existsSync(normal), 2000);
    expect(fs.readFileSync(aborted, 'utf8')).toBe('cancelled: The request this coroutine belongs to ended abnormally');
    expect(fs.readFileSync(normal, 'utf8')).toBe('ran');
    fs.rmSync(aborted);
    fs.rmSync(normal);
  });
});

describe('blocking calls yield inside coroutines', () => {
  // The most of these requests PHP ran at once (the worker counts them); resets the count.
  const peak = async (): Promise<number> => (await get('/peak')).body.peak as number;
  beforeEach(async () => {
    await peak();
  });

  it('100 concurrent requests doing usleep(50000) overlap and finish below the serial 5 s', async () => {
    const t0 = Date.now();
    const all = await Promise.all(Array.from({ length: 100 }, () => get('/sleep')));
    const ms = Date.now() - t0;
    for (const r of all) expect(r.body.ms as number).toBeGreaterThanOrEqual(49);
    expect(await peak()).toBeGreaterThanOrEqual(2);
    expect(ms).toBeLessThan(5000);
  });

  it('sleep/time_nanosleep/time_sleep_until return what PHP returns; a sleeping coroutine can be cancelled', async () => {
    const { body } = await get('/sleeps');
    expect(body.r).toEqual([0, true, true, 'Async\\AsyncCancellation: The coroutine was cancelled',
      'ValueError: usleep(): Argument #1 ($microseconds) must be greater than or equal to 0']);
    expect(body.ms as number).toBeLessThan(500);
  });

  it('reads from a slow TCP server overlap (connect, fwrite, fgets, stream_get_contents)', async () => {
    const t0 = Date.now();
    const all = await Promise.all(Array.from({ length: 10 }, () => get('/tcp', { 'x-port': String(port(tcp)) })));
    const ms = Date.now() - t0;
    for (const r of all) expect(r.body).toMatchObject({ line: 'line1\n', rest: 'rest' });
    expect(await peak()).toBeGreaterThanOrEqual(2);
    expect(ms).toBeLessThan(1500); // serial would be >= 10 x 150 ms
  });

  it('file_get_contents on http:// and stream_select overlap', async () => {
    const all = await Promise.all([
      ...Array.from({ length: 8 }, () => get('/http', { 'x-port': String(port(web)) })),
      ...Array.from({ length: 4 }, () => get('/select', { 'x-port': String(port(tcp)) })),
    ]);
    // Serial would be >= 12 x 100 ms; the peak says they overlapped whatever the load.
    expect(await peak()).toBeGreaterThanOrEqual(2);
    for (const r of all.slice(0, 8)) expect(r.body.body).toBe('slow-body');
    for (const r of all.slice(8)) expect(r.body).toMatchObject({ n: 1, line: 'line1\n' });
  });

  it('a refused connection reports like PHP', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const p = port(closed);
    closed.close();
    const { body } = await get('/refused', { 'x-port': String(p) });
    expect(body).toEqual({ ok: false, errno: 111, errstr: 'Connection refused' });
  });
});

describe('outside coroutines', () => {
  it('php-cli: sleep blocks as in PHP; the Async\\ functions say where they work', async () => {
    const dir = tempDir();
    const script = path.join(dir, 'cli.php');
    fs.writeFileSync(script, `<?php
$t = hrtime(true); usleep(200000); $a = (hrtime(true) - $t) / 1e6;
$t = hrtime(true); $r = sleep(1); $b = (hrtime(true) - $t) / 1e6;
try { Async\\delay(1); } catch (Error $e) { $m = $e->getMessage(); }
echo json_encode([$a, $b, $r, $m, Async\\current_coroutine()]);
`);
    const { code, out } = await runCli(['php-cli', script]);
    expect(code, out).toBe(0);
    const [a, b, r, m, cur] = JSON.parse(out) as [number, number, number, string, null];
    expect(a).toBeGreaterThanOrEqual(199);
    expect(b).toBeGreaterThanOrEqual(999);
    expect(r).toBe(0);
    expect(m).toBe('Async\\delay() is only available in a phpasync async worker');
    expect(cur).toBeNull();
  });
});
