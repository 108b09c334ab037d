// PHP state is per request, never per thread: headers, status, output, errors, ini, time limit
// and superglobals of one request are not seen by another of the same PHP thread, through real
// HTTP against one PHP thread (num 1) that serves every request below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request, type RawResponse } from './api-helpers.js';
import { FIXTURES, startServer, waitFor, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ worker: 'request-state.php', num: 1 });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

type Seen = {
  status: number | false;
  headers_sent: boolean;
  headers_list: string[];
  last_error: string | null;
  precision: string;
  memory_limit: string;
  max_execution_time: string;
  error_reporting: number;
  ob_level: number;
  id: string | null;
};

const get = (path: string, opts: Parameters<typeof request>[1] = {}): Promise<RawResponse> => request(server, { path, ...opts });
const body = <T = Record<string, unknown>>(r: RawResponse): T => JSON.parse(r.body.toString()) as T;

describe('headers and output', () => {
  it('header() works in a request after other requests (and the worker) echoed', async () => {
    for (let i = 0; i < 3; i++) expect((await get('/echo')).body.toString()).toBe('echoed\n');
    const r = await get('/header?v=after-echo');
    expect(r.status).toBe(200);
    expect(r.headers['x-test']).toBe('after-echo');
    expect(body<{ before: Seen }>(r).before).toMatchObject({ headers_sent: false, status: 200, headers_list: [] });
  });

  it('headers_sent() and the output start are per request: header() after echo works until flush()', async () => {
    const r = await get('/echo-then-header');
    expect(r.status).toBe(202);
    expect(r.headers['x-after-echo']).toBe('yes');
    expect(r.headers['x-after-flush']).toBeUndefined();
    const text = r.body.toString();
    expect(text.startsWith('a{')).toBe(true);
    const out = JSON.parse(text.slice(1)) as Record<string, unknown>;
    expect(out).toMatchObject({ sent_after_echo: false, sent_after_flush: true, output_started_at: 'request-state.php:53' });
    expect(out.warning).toBe('Cannot modify header information - headers already sent by (output started at ' +
      `${process.cwd()}/test/fixtures/php/request-state.php:53)`);
    // The next request starts with nothing sent.
    expect(body<{ seen: Seen }>(await get('/plain')).seen).toMatchObject({ headers_sent: false, status: 200 });
  });

  it('echo never adds a default Content-Type, to the thread\'s first echoing response either', async () => {
    // A worker that never echoed before its first request (the fixture above did at boot).
    const fresh = await startServer({
      workerSource: '<?php FrankenPHP\\HttpServer::onRequest(function ($req, $res) { echo "x"; });',
      num: 1,
    });
    try {
      const types: (string | undefined)[] = [];
      for (let i = 0; i < 3; i++) types.push((await request(fresh, { path: '/' })).headers['content-type']);
      expect(types).toEqual([undefined, undefined, undefined]);
    } finally {
      expect(await fresh.stop()).toBe(0);
    }
  });
});

describe('status set by PHP functions', () => {
  it('http_response_code(), status lines, header() with a code and Location change that response only', async () => {
    expect((await get('/code?c=404')).status).toBe(404);
    const plain = await get('/plain');
    expect(plain.status).toBe(200);
    expect(body<{ seen: Seen }>(plain).seen.status).toBe(200);
    expect((await get('/status-line')).status).toBe(418);
    const gone = await get('/header-code');
    expect(gone.status).toBe(410);
    expect(gone.headers['x-gone']).toBe('1');
    const loc = await get('/location');
    expect(loc.status).toBe(302);
    expect(loc.headers.location).toBe('/elsewhere');
    // As CGI/FPM: a Location answering a POST over HTTP/1.1 is a 303.
    const post = await get('/location', { method: 'POST', body: 'x=1' });
    expect(post.status).toBe(303);
    expect((await get('/plain')).status).toBe(200);
  });

  it('refuses statuses Node cannot send, in the call that set them, and header_register_callback()', async () => {
    const r = await get('/bad-code');
    expect(r.status).toBe(200);
    expect(r.headers['x-cb']).toBeUndefined();
    expect(body(r)).toMatchObject({
      callback: 'Error: not supported yet: header_register_callback() in an async handler: the Response sends the headers at flush() or end(); set them before calling either',
      caught: 'ValueError: http_response_code(): The response status must be between 200 and 599 (1xx informational statuses cannot be sent as the response status), 42 given',
      status_line: 'ValueError: header(): The response status must be between 200 and 599 (1xx informational statuses cannot be sent as the response status), 100 given',
    });
  });

  it('Response methods and header functions act on the same status and headers: the last call wins', async () => {
    const r = await get('/last-wins');
    expect(r.status).toBe(206);
    const out = body<{ a: number[]; b: number[]; list: string[] }>(r);
    expect(out.a).toEqual([202, 202]);
    expect(out.b).toEqual([206, 206]);
    expect(r.headers['x-w']).toBe('from-setHeader');
    expect(r.headers['x-v']).toBe('3');
    expect(r.headers['x-both']).toBe('a, b');
    expect(out.list).toEqual(['X-W: from-setHeader', 'X-V: 3', 'X-Both: a', 'X-Both: b']);
  });
});

describe('errors, ini and time limits', () => {
  it('error_get_last() is the request\'s own', async () => {
    const w = await get('/warn', { headers: { 'x-id': 'w1' } });
    expect(body<{ seen: Seen }>(w).seen.last_error).toBe('warning of w1');
    expect(body<{ seen: Seen }>(await get('/plain')).seen.last_error).toBeNull();
  });

  it('ini_set() and error_reporting() end with their request', async () => {
    const a = body<{ seen: Seen }>(await get('/ini')).seen;
    expect(a).toMatchObject({ memory_limit: '-1', precision: '5', error_reporting: 1 });
    const b = body<{ seen: Seen }>(await get('/plain')).seen;
    expect(b.memory_limit).not.toBe('-1');
    expect(b).toMatchObject({ precision: '14', max_execution_time: '0' });
    expect(b.error_reporting).not.toBe(1);
  });

  it('set_time_limit() limits its own request (504) and not the next one', async () => {
    const logged = (): string[] =>
      server.logs().map((l) => String(l.msg)).filter((m) => m.startsWith('request timeout'));
    const before = logged().length;
    const limited = await get('/time-limit?us=3000000');
    expect(limited.status).toBe(504);
    const busy = await get('/time-limit-busy');
    expect(busy.status).toBe(504);
    // Log lines travel apart from responses: wait for both.
    expect(await waitFor(() => logged().length >= before + 2 && logged().slice(before))).toEqual([
      'request timeout: the handler waited for more than 1000 ms; interrupted, answered 504',
      'request timeout: the handler ran for more than 1000 ms; interrupted, answered 504',
    ]);
    const next = await get('/time-limit?us=0');
    expect(next.status).toBe(200);
    // A request that did not call it runs past 1 s.
    const after = await get('/sleep?us=1300000');
    expect(after.status).toBe(200);
    expect(body<{ seen: Seen }>(after).seen.max_execution_time).toBe('0');
  });
});

describe('superglobals and php://input', () => {
  it('$_SERVER, $_GET and $_COOKIE are the request\'s; $_POST and $_FILES are empty; php://input is its body', async () => {
    const r1 = body<Record<string, any>>(await get('/server?a=1&b[]=x', {
      method: 'PUT',
      headers: { 'x-id': 'one', cookie: 'c1=v%201; c2=two', 'content-type': 'text/plain', 'x_sneaky': 'no' },
      body: 'the body',
    }));
    expect(r1.server).toMatchObject({
      REQUEST_METHOD: 'PUT',
      REQUEST_URI: '/server?a=1&b[]=x',
      QUERY_STRING: 'a=1&b[]=x',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '127.0.0.1',
      HTTP_X_ID: 'one',
      CONTENT_TYPE: 'text/plain',
      CONTENT_LENGTH: '8',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(server.port),
      REQUEST_SCHEME: 'http',
    });
    expect(r1.server.SCRIPT_FILENAME).toMatch(/request-state\.php$/);
    expect(r1.server.HTTP_X_SNEAKY).toBeUndefined();
    expect(r1.get).toEqual({ a: '1', b: ['x'] });
    expect(r1.cookie).toEqual({ c1: 'v 1', c2: 'two' });
    expect(r1.post).toEqual([]);
    expect(r1.files).toEqual([]);
    expect(r1.request).toEqual({ a: '1', b: ['x'] });
    expect(r1.input).toBe('the body');
    expect(r1.input_again).toBe('the body');
    expect(r1.server.REQUEST_TIME_FLOAT).toBeGreaterThan(r1.boot_time);
    expect(r1.server.REQUEST_TIME).toBe(Math.floor(r1.server.REQUEST_TIME_FLOAT));

    const r2 = body<Record<string, any>>(await get('/server', { headers: { 'x-id': 'two' } }));
    expect(r2.server.HTTP_X_ID).toBe('two');
    expect(r2.server.HTTP_COOKIE).toBeUndefined();
    expect(r2.server.CONTENT_TYPE).toBeUndefined();
    expect(r2.server.QUERY_STRING).toBe('');
    expect(r2.server.REQUEST_METHOD).toBe('GET');
    expect(r2.get).toEqual([]);
    expect(r2.cookie).toEqual([]);
    expect(r2.input).toBe('');
    expect(r2.server.REQUEST_TIME_FLOAT).toBeGreaterThan(r1.server.REQUEST_TIME_FLOAT);
  });
});

describe('superglobals first named inside a request', () => {
  it('$_SERVER made while a request runs is that request\'s, and every later request gets its own', async () => {
    const late = await startServer({
      workerSource: `<?php FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
        $res->write(json_encode(require '${FIXTURES}/request-state-late.php'));
      });`,
      num: 1,
    });
    try {
      const seen = [];
      for (const id of ['first', 'second', 'third']) {
        seen.push(body(await request(late, { path: `/${id}?q=${id}`, headers: { 'x-id': id } })));
      }
      expect(seen).toEqual([
        { id: 'first', uri: '/first?q=first', request: expect.anything() },
        { id: 'second', uri: '/second?q=second', request: { q: 'second' } },
        { id: 'third', uri: '/third?q=third', request: { q: 'third' } },
      ]);
    } finally {
      expect(await late.stop()).toBe(0);
    }
  });
});

describe('superglobals when a handler reshapes the global symbol table', () => {
  // The swap remembers where each superglobal sits in the symbol table; a handler that unsets
  // superglobals and adds and removes many globals moves them (the table grows, is compacted,
  // the names come back at new places). Every request must still see only its own.
  it('$_GET and $_COOKIE stay the request\'s, across suspensions, after a handler unset them and churned globals', async () => {
    const churn = await startServer({
      workerSource: `<?php FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
        $path = parse_url($req->getUri(), PHP_URL_PATH);
        $before = [$_GET, $_COOKIE];
        if ($path === '/churn') {
          unset($_GET, $_COOKIE, $_POST);
          for ($round = 0; $round < 3; $round++) {
            for ($i = 0; $i < 200; $i++) $GLOBALS["churn_{$round}_$i"] = $i;
            for ($i = 0; $i < 200; $i++) unset($GLOBALS["churn_{$round}_$i"]);
          }
          $_GET = ['set_by' => 'churn'];
        } elseif ($path === '/sleep') {
          Async\\delay((int) $_GET['ms']);
        }
        $res->write(json_encode(['before' => $before, 'after' => [$_GET, $_COOKIE]]));
      });`,
      num: 1,
    });
    try {
      const ask = (path: string, cookie?: string) =>
        request(churn, { path, headers: cookie ? { cookie } : {} }).then((r) => {
          expect(r.status).toBe(200);
          return body<{ before: unknown[]; after: unknown[] }>(r);
        });
      // A sleeps across the churn and the requests after it; it resumes into the moved table.
      const sleeping = ask('/sleep?ms=400&who=a', 'c=a');
      await new Promise((r) => setTimeout(r, 100));
      const churned = await ask('/churn?who=churn', 'c=churn');
      expect(churned.before).toEqual([{ who: 'churn' }, { c: 'churn' }]);
      expect(churned.after).toEqual([{ set_by: 'churn' }, null]);
      for (let i = 0; i < 4; i++) {
        const seen = await ask(i % 2 ? `/plain?who=b${i}` : `/churn?who=b${i}`, `c=b${i}`);
        expect(seen.before).toEqual([{ who: `b${i}` }, { c: `b${i}` }]);
      }
      const plain = await ask('/plain');
      expect(plain).toEqual({ before: [[], []], after: [[], []] });
      expect(await sleeping).toEqual({ before: [{ ms: '400', who: 'a' }, { c: 'a' }], after: [{ ms: '400', who: 'a' }, { c: 'a' }] });
    } finally {
      expect(await churn.stop()).toBe(0);
    }
  });
});

describe('interleaved requests', () => {
  it('a request suspended between its changes and one that runs meanwhile do not see each other\'s state', async () => {
    const a = get('/interleave/a?us=400000', { method: 'POST', headers: { 'x-id': 'A' }, body: 'A'.repeat(20000) });
    let aDone = false;
    void a.then(() => (aDone = true));
    // B runs while A sleeps; five of them, one after another.
    const bs: RawResponse[] = [];
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 5; i++) {
      bs.push(await get('/interleave/b', { method: 'POST', headers: { 'x-id': `B${i}` }, body: `b${i}`.repeat(6000) }));
    }
    expect(aDone).toBe(false); // overlap: every B ran inside A's sleep
    const ra = await a;
    expect(ra.status).toBe(201);
    expect(ra.headers['x-a']).toBe('1');
    expect(ra.headers['x-a2']).toBe('2');
    const outA = body<{ first: Seen; second: Seen; buffered: string; server_id: string; server_uri: string; input_first: string; input_rest: [number, string] }>(ra);
    expect(outA.input_first).toBe('AAA');
    expect(outA.input_rest).toEqual([19997, 'A']);
    for (const s of [outA.first, outA.second]) {
      expect(s).toMatchObject({ status: 201, last_error: 'error of a', precision: '5', id: 'A', headers_sent: false });
    }
    expect(outA.first.ob_level).toBe(1); // its buffer, still open across the sleep
    expect(outA.second.ob_level).toBe(0); // closed by ob_get_clean()
    expect(outA.second.headers_list).toEqual(['X-A: 1', 'X-A2: 2']);
    expect(outA.buffered).toBe('buffered by a;still a;');
    expect(outA.server_uri).toBe('/interleave/a?us=400000');

    bs.forEach((rb, i) => {
      expect(rb.status).toBe(200);
      expect(rb.headers['x-a']).toBeUndefined();
      const text = rb.body.toString();
      expect(text.startsWith('b echoes;')).toBe(true);
      const outB = JSON.parse(text.slice('b echoes;'.length)) as { b: Seen; server_uri: string; input: string };
      expect(outB.input).toBe(`b${i}`.repeat(6000));
      expect(outB.b).toMatchObject({ status: 200, last_error: null, precision: '14', ob_level: 0, id: `B${i}`, headers_list: [], headers_sent: false });
      expect(outB.server_uri).toBe('/interleave/b');
    });
  });
});
