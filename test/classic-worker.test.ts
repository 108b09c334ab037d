// The classic worker (a Caddyfile `worker` without `async`, FrankenPHP's worker mode): the file
// boots once and loops on frankenphp_handle_request(). Real server, real HTTP, the Razy-style
// worker of test/fixtures/classic-worker/worker.php.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, startServer, tempDir, waitFor, writeCaddyfile, type RunningServer } from './helpers/server.js';

const WORKER = '../classic-worker/worker.php';

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url, { redirect: 'manual', ...init });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

const json = async (url: string, init?: RequestInit): Promise<Record<string, unknown>> => JSON.parse((await get(url, init)).body) as Record<string, unknown>;

const logLine = (s: RunningServer, re: RegExp): Record<string, unknown> | undefined =>
  s.logs().find((l) => typeof l.msg === 'string' && re.test(l.msg));
const count = (s: RunningServer, msg: string): number => s.logs().filter((l) => l.msg === msg).length;

describe('classic worker: frankenphp_handle_request() loop', () => {
  let server: RunningServer;
  let stopped = false;
  beforeAll(async () => {
    const sessions = tempDir();
    server = await startServer({ worker: WORKER, async: false, workerExtra: 'request_timeout 5s', globalExtra: `php_ini session.save_path ${sessions}` });
  });
  afterAll(async () => {
    if (!stopped) await server.stop();
  });

  it('boots the file once: a static counts requests across them', async () => {
    const [n1, boot1] = (await get(`${server.url}/count`)).body.split(' ');
    const [n2, boot2] = (await get(`${server.url}/count`)).body.split(' ');
    expect(Number(n2)).toBe(Number(n1) + 1);
    expect(boot2).toBe(boot1);
    expect(server.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('classic worker booted'))).toHaveLength(1);
  });

  it('fills the superglobals for each request and resets them between requests', async () => {
    const first = await json(`${server.url}/globals?a=1&b[]=2`, { headers: { cookie: 'c=3', 'user-agent': 'ua-one' } });
    expect(first).toMatchObject({ get: { a: '1', b: ['2'] }, cookie: { c: '3' }, method: 'GET', uri: '/globals?a=1&b[]=2', query: 'a=1&b[]=2', ua: 'ua-one' });
    const second = await json(`${server.url}/globals`);
    expect(second).toMatchObject({ get: [], post: [], request: [], cookie: [], files: [], query: '', uri: '/globals', input: '' });
    expect(second.ua).not.toBe('ua-one');
  });

  it('gives a POST body to $_POST, $_REQUEST and php://input, and not to the next request', async () => {
    const body = 'x=1&y=two&a=from-post';
    const r = await json(`${server.url}/globals?a=from-get&q=9`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r).toMatchObject({ method: 'POST', post: { x: '1', y: 'two', a: 'from-post' }, get: { a: 'from-get', q: '9' }, input: body });
    expect(r.request).toEqual({ a: 'from-post', q: '9', x: '1', y: 'two' });
    const next = await json(`${server.url}/globals`);
    expect(next).toMatchObject({ method: 'GET', post: [], request: [], input: '' });
  });

  it('gives an uploaded file to $_FILES and move_uploaded_file()', async () => {
    const form = new FormData();
    form.append('title', 'a report');
    form.append('doc', new Blob(['file bytes\n'], { type: 'text/plain' }), 'report.txt');
    const r = await json(`${server.url}/upload`, { method: 'POST', body: form });
    expect(r).toEqual({ name: 'report.txt', size: 11, error: 0, moved: true, content: 'file bytes\n', title: 'a report' });
    expect((await json(`${server.url}/globals`)).files).toEqual([]);
  });

  it('makes the response from http_response_code(), header(), setcookie() and echo, with PHP\'s default Content-Type', async () => {
    const r = await get(`${server.url}/response`);
    expect(r.status).toBe(201);
    expect(r.headers.get('x-classic')).toBe('yes');
    expect(r.headers.get('set-cookie')).toBe('sid=abc123');
    expect(r.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(r.body).toBe('made 201');
    const redirect = await get(`${server.url}/redirect`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/count');
    // Nothing of it stays for the next request.
    const next = await get(`${server.url}/globals`);
    expect(next.status).toBe(200);
    expect(next.headers.get('x-classic')).toBeNull();
    expect(next.headers.get('set-cookie')).toBeNull();
  });

  it('sends what a buffer left open holds, and the buffer does not swallow the next response', async () => {
    expect((await get(`${server.url}/leave-buffer`)).body).toBe('buffered and left open');
    expect((await get(`${server.url}/count`)).body).toMatch(/^\d+ [0-9a-f]{8}$/);
  });

  it('ends only the request on exit(), and answers an uncaught exception 500 without a restart', async () => {
    const [, boot] = (await get(`${server.url}/count`)).body.split(' ');
    expect(await get(`${server.url}/exit`)).toMatchObject({ status: 200, body: 'bye' });
    const thrown = await get(`${server.url}/throw`);
    expect(thrown).toMatchObject({ status: 500, body: 'Internal Server Error\n' });
    const line = await waitFor(() => logLine(server, /^Uncaught RuntimeException: boom from the callback in .*worker\.php:\d+$/));
    expect(line.reqId).toMatch(/^req-/);
    expect((await get(`${server.url}/count`)).body.split(' ')[1]).toBe(boot);
  });

  it('answers a fatal error 500, restarts the interpreter (the file boots again) and serves the next request', async () => {
    const [, boot] = (await get(`${server.url}/count`)).body.split(' ');
    const restarts = count(server, 'PHP thread 0: restarting the interpreter after a fatal error');
    const r = await get(`${server.url}/fatal`);
    expect(r).toMatchObject({ status: 500, body: 'Internal Server Error\n' });
    await waitFor(() => logLine(server, /PHP Fatal error: +Cannot declare class TwiceDeclared/));
    const after = await get(`${server.url}/count`);
    expect(after.status).toBe(200);
    const [n, boot2] = after.body.split(' ');
    expect(boot2).not.toBe(boot);
    expect(n).toBe('1');
    expect(count(server, 'PHP thread 0: restarting the interpreter after a fatal error')).toBe(restarts + 1);
  });

  it('keeps a PHP session across requests through its cookie, and shows it to no other request', async () => {
    const first = await get(`${server.url}/session`);
    const cookie = /^(PHPSESSID=[^;]+)/.exec(first.headers.get('set-cookie') ?? '')?.[1];
    expect(cookie).toBeDefined();
    const [id, n] = first.body.split(' ');
    expect(n).toBe('1');
    expect(cookie).toBe(`PHPSESSID=${id}`);
    expect((await get(`${server.url}/session`, { headers: { cookie: cookie! } })).body).toBe(`${id} 2`);
    // The next requests are other users: no session id, no $_SESSION, a new session of their own.
    expect(await json(`${server.url}/no-session`)).toEqual({ id: '', status: 1, vars: null });
    const other = await get(`${server.url}/session`);
    expect(other.body).not.toContain(id!);
    expect(other.body.split(' ')[1]).toBe('1');
    expect((await get(`${server.url}/session`, { headers: { cookie: cookie! } })).body).toBe(`${id} 3`);
  });

  it('frankenphp_finish_request() sends the response while the callback goes on; later output is dropped', async () => {
    const flag = path.join(tempDir(), 'flag');
    // The callback waits for this flag, which is written only once the response is here.
    const r = await get(`${server.url}/finish?flag=${encodeURIComponent(flag)}`);
    expect(r).toMatchObject({ status: 200, body: 'sent early' });
    fs.writeFileSync(flag, '');
    const line = await waitFor(() => logLine(server, /^after finish: flag/), 15_000);
    expect(line.msg).toBe('after finish: flag seen');
  });

  it('flush() streams: the client reads what was echoed before it while the callback goes on', async () => {
    const flag = path.join(tempDir(), 'flag');
    const r = await fetch(`${server.url}/stream?flag=${encodeURIComponent(flag)}`);
    expect(r.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    const reader = r.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('part1');
    fs.writeFileSync(flag, '');
    let rest = '';
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
    expect(rest).toBe('part2');
    expect((await waitFor(() => logLine(server, /^stream: flag/))).msg).toBe('stream: flag seen'); // the log line travels apart from the response
  });

  it('frankenphp_request_headers() (and getallheaders()) list the request headers, frankenphp_response_headers() the ones set', async () => {
    const h = await json(`${server.url}/request-headers`, { headers: { 'x-foo': 'bar' } });
    expect(h.fn).toMatchObject({ 'x-foo': 'bar' });
    expect(h.alias).toEqual(h.fn);
    expect(await json(`${server.url}/response-headers`)).toEqual({ 'X-One': '1', 'X-Two': 'b' });
  });

  it('headers_send() sends the status and headers at once, the body follows', async () => {
    const r = await get(`${server.url}/headers-send`);
    expect(r.status).toBe(202);
    expect(r.headers.get('x-early')).toBe('yes');
    expect(r.body).toBe('before 0 after');
  });

  it('serves one request at a time on a classic thread', async () => {
    const spans = await Promise.all([1, 2, 3].map(async () => JSON.parse((await get(`${server.url}/span`)).body) as [number, number]));
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  it('refuses HttpServer::onRequest() and a nested frankenphp_handle_request() by name', async () => {
    expect((await get(`${server.url}/on-request`)).status).toBe(500);
    await waitFor(() => logLine(server, /^Uncaught Error: FrankenPHP\\HttpServer::onRequest\(\) called in a classic worker: loop on frankenphp_handle_request\(\)/));
    expect((await get(`${server.url}/nested`)).status).toBe(500);
    await waitFor(() => logLine(server, /^Uncaught Error: frankenphp_handle_request\(\) must be called by the worker file itself/));
    expect((await get(`${server.url}/count`)).status).toBe(200);
  });

  it('returns false on SIGTERM: the code after the loop runs and the server exits 0', async () => {
    const n = Number((await get(`${server.url}/count`)).body.split(' ')[0]);
    stopped = true;
    expect(await server.stop()).toBe(0);
    expect(logLine(server, /^classic worker loop ended after/)?.msg).toBe(`classic worker loop ended after ${n} requests`);
  });
});

describe('classic worker: max_requests and request_timeout', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: WORKER, async: false, workerExtra: 'max_requests 3\n\t\t\trequest_timeout 500ms' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('restarts the file after max_requests: the loop returns false, the code after it runs, the next boot serves', async () => {
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await get(`${server.url}/count`)).body.split(' '));
    expect(bodies.map((b) => b[0])).toEqual(['1', '2', '3', '1']);
    expect(new Set(bodies.slice(0, 3).map((b) => b[1])).size).toBe(1);
    expect(bodies[3]![1]).not.toBe(bodies[0]![1]);
    await waitFor(() => logLine(server, /^classic worker loop ended after 3 requests$/));
    expect(logLine(server, /^PHP thread 0: restarting the interpreter after 3 requests \(max_requests\)$/)).toBeDefined();
  });

  it('answers a callback over request_timeout 504 and serves the next request', async () => {
    const r = await get(`${server.url}/spin`);
    expect(r.status).toBe(504);
    expect((await get(`${server.url}/count`)).status).toBe(200);
  });
});

describe('classic worker: client abort', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // The default request timeout (30 s) is far beyond this test: only the abort can stop them.
    server = await startServer({ worker: WORKER, async: false });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  for (const url of ['/spin', '/sleep']) {
    it(`stops the callback of ${url} when its client goes away, logs no error, and serves the next request`, async () => {
      const ac = new AbortController();
      const aborted = fetch(server.url + url, { signal: ac.signal }).catch((e: Error) => e.name);
      await new Promise((r) => setTimeout(r, 200));
      ac.abort();
      expect(await aborted).toBe('AbortError');
      // One request at a time: this is answered only once the aborted callback is gone.
      const t0 = Date.now();
      expect((await get(`${server.url}/count`)).status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(server.logs().filter((l) => ['error', 'fatal'].includes(l.level as string))).toEqual([]);
      expect(server.output.join('\n')).not.toContain('request timeout');
      expect(server.output.join('\n')).not.toContain('woke /sleep');
    });
  }
});

describe('classic worker: session.auto_start', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const sessions = tempDir();
    server = await startServer({ worker: WORKER, async: false, globalExtra: `php_ini session.save_path ${sessions}\n\t\tphp_ini session.auto_start 1` });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('opens each request\'s own session before the callback, from the request\'s cookie', async () => {
    const first = await get(`${server.url}/auto-session`);
    const [id, n] = first.body.split(' ');
    expect(n).toBe('1');
    expect(first.headers.get('set-cookie')).toMatch(new RegExp(`^PHPSESSID=${id};`));
    expect((await get(`${server.url}/auto-session`, { headers: { cookie: `PHPSESSID=${id}` } })).body).toBe(`${id} 2`);
    const other = await get(`${server.url}/auto-session`);
    expect(other.body.split(' ')[1]).toBe('1');
    expect(other.body).not.toContain(id!);
    expect(server.logs().filter((l) => ['error', 'fatal'].includes(l.level as string))).toEqual([]);
  });
});

describe('classic worker: misuse', () => {
  it('refuses frankenphp_handle_request() in an async worker with a RuntimeException that says what to do', async () => {
    const server = await startServer({
      workerSource: `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    try { frankenphp_handle_request(fn () => null); } catch (RuntimeException $e) { $res->write($e->getMessage()); }
    $res->end();
});`,
    });
    try {
      const r = await get(server.url);
      expect(r.body).toBe(
        'frankenphp_handle_request() called in an async worker: register the handler with FrankenPHP\\HttpServer::onRequest() instead, or remove `async` from the Caddyfile\'s worker block to run this file as a classic worker',
      );
    } finally {
      await server.stop();
    }
  });

  it('refuses max_coroutines on a classic worker (it serves one request at a time per thread)', async () => {
    const dir = tempDir();
    const file = writeCaddyfile(dir, { worker: WORKER, async: false, workerExtra: 'max_coroutines 10' });
    const r = await runCli(['validate', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('worker max_coroutines applies to async workers: a classic worker (no async) serves one request at a time per thread');
  });

  it('fails to start a classic worker whose file never calls frankenphp_handle_request(), saying so', async () => {
    const err = await startServer({ async: false, workerSource: `<?php\necho "booted\\n";\n` }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/returned without calling frankenphp_handle_request\(\): a classic worker loops on it/);
  });
});
