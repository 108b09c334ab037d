// Classic scripts (php_server without a worker, FrankenPHP's default mode) through real HTTP
// against a small multi-file app (test/fixtures/classic-app): the front controller and its
// includes, a form POST with an upload, a session over two requests, header()/exit/
// http_response_code(), flush() streaming, $_SERVER's CGI variables and PATH_INFO, static
// files, PHP files never sent as source, paths out of the root refused, a fatal error and
// max_execution_time ending only their request, a client abort, and no state shared between
// requests.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request } from './helpers/request.js';
import { ROOT, runCaddyfile, runCli, tempDir, waitFor } from './helpers/server.js';

const APP = path.join(ROOT, 'test/fixtures/classic-app');

let server: Awaited<ReturnType<typeof runCaddyfile>>;
let port: number;
let base: string;
let work: string;

beforeAll(async () => {
  work = tempDir();
  // Something just outside the root that must stay out of reach.
  fs.writeFileSync(path.join(work, 'outside.php'), '<?php echo "OUTSIDE RAN";');
  server = await runCaddyfile(
    `http://127.0.0.1:0 {
	root * ${APP}
	php_server
}
`,
    1,
  );
  const line = server.output.find((l) => l.includes('Server listening at'))!;
  port = Number(/:(\d+)"?,?/.exec(line.slice(line.indexOf('Server listening at')))![1]);
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server?.stop();
});

function json(r: Awaited<ReturnType<typeof request>>): Record<string, unknown> {
  return JSON.parse(r.body.toString()) as Record<string, unknown>;
}

describe('classic scripts: the front controller and its includes', () => {
  it('runs index.php for / and for any path that is not a file (try_files)', async () => {
    const home = await fetch(`${base}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toBe('home: hello\n');
    expect(home.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    const nope = await fetch(`${base}/no/such/route`);
    expect(nope.status).toBe(404);
    expect(await nope.text()).toBe('no route for /no/such/route\n');
  });

  it('gives the CGI variables in $_SERVER', async () => {
    const r = await fetch(`${base}/server?a=1&b=two`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-custom': 'yes', authorization: `Basic ${Buffer.from('ann:secret').toString('base64')}` },
      body: 'raw body',
    });
    const s = (await r.json()) as Record<string, unknown>;
    const realRoot = fs.realpathSync(APP);
    expect(s).toMatchObject({
      SCRIPT_FILENAME: path.join(realRoot, 'index.php'),
      SCRIPT_NAME: '/index.php',
      PHP_SELF: '/index.php',
      PATH_INFO: null,
      REQUEST_URI: '/server?a=1&b=two',
      QUERY_STRING: 'a=1&b=two',
      DOCUMENT_ROOT: realRoot,
      HTTPS: null,
      REMOTE_ADDR: '127.0.0.1',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(port),
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: 'POST',
      CONTENT_TYPE: 'text/plain',
      CONTENT_LENGTH: '8',
      HTTP_X_CUSTOM: 'yes',
      GATEWAY_INTERFACE: 'CGI/1.1',
      PHP_AUTH_USER: 'ann',
      PHP_AUTH_PW: 'secret',
      input: 'raw body',
      get: { a: '1', b: 'two' },
    });
    expect(typeof s.REMOTE_PORT).toBe('number');
  });

  it('runs other scripts with PATH_INFO (split_path) and directory indexes', async () => {
    const page = await fetch(`${base}/sub/page.php/extra/info?q=1`);
    expect(await page.text()).toBe('page: /sub/page.php | /extra/info | /sub/page.php/extra/info\n');
    // A directory without its slash is redirected (308) to it, then its index.php runs.
    const redir = await fetch(`${base}/sub?x=1`, { redirect: 'manual' });
    expect(redir.status).toBe(308);
    expect(redir.headers.get('location')).toBe('/sub/?x=1');
    expect(await (await fetch(`${base}/sub/`)).text()).toBe('sub index\n');
  });
});

describe('classic scripts: what PHP does natively', () => {
  it('takes a form POST with an upload: $_POST, $_FILES, move_uploaded_file()', async () => {
    const dest = path.join(work, 'moved.txt');
    const form = new FormData();
    form.append('title', 'My doc');
    form.append('dest', dest);
    form.append('doc', new Blob(['file contents here']), 'doc.txt');
    const r = await fetch(`${base}/form`, { method: 'POST', body: form });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      title: 'My doc',
      name: 'doc.txt',
      size: 18,
      uploaded: true,
      moved: 'file contents here',
      still_uploaded: false, // moved away
      input: '', // as in php-fpm: multipart bodies are parsed, not kept for php://input
    });
    expect(fs.readFileSync(dest, 'utf8')).toBe('file contents here');
  });

  it('keeps a session across two requests through its cookie', async () => {
    const first = await fetch(`${base}/session`);
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^PHPSESSID=\w+; path=\//);
    const a = (await first.json()) as { visits: number; id: string };
    expect(a.visits).toBe(1);
    const second = await fetch(`${base}/session`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(await second.json()).toEqual({ visits: 2, id: a.id });
    // Another client gets a session of its own.
    expect(((await (await fetch(`${base}/session`)).json()) as { visits: number }).visits).toBe(1);
  });

  it('redirects with header(Location), answers http_response_code(404), stops at exit', async () => {
    const r = await fetch(`${base}/redirect`, { redirect: 'manual' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/server?from=redirect');
    const m = await fetch(`${base}/missing`);
    expect(m.status).toBe(404);
    expect(await m.text()).toBe('nothing here\n');
    const e = await fetch(`${base}/exit`);
    expect(e.status).toBe(200);
    expect(await e.text()).toBe('before exit\n');
  });

  it('sends header()/setcookie() as PHP lists them, header_remove() included', async () => {
    const r = await fetch(`${base}/headers`);
    expect(r.headers.get('x-one')).toBe('1');
    expect(r.headers.get('x-gone')).toBeNull();
    expect(r.headers.get('set-cookie')).toBe('flavour=oatmeal; path=/');
    const body = (await r.json()) as { list: string[]; code: number };
    expect(body.code).toBe(200);
    expect(body.list).toEqual(expect.arrayContaining(['X-One: 1', 'Set-Cookie: flavour=oatmeal; path=/']));
    expect(body.list.some((h) => h.startsWith('X-Gone'))).toBe(false);
  });

  it('streams what flush() sends before the script ends', async () => {
    const marker = path.join(work, 'stream-marker');
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${base}/stream?marker=${encodeURIComponent(marker)}`, resolve).on('error', reject);
    });
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const chunks: string[] = [];
    const first = await new Promise<string>((resolve) => res.once('data', (c: Buffer) => resolve(c.toString())));
    chunks.push(first);
    // The script is still waiting for the marker: the first piece came on its own.
    expect(first).toBe('first\n');
    fs.writeFileSync(marker, '');
    await new Promise<void>((resolve) => {
      res.on('data', (c: Buffer) => chunks.push(c.toString()));
      res.on('end', resolve);
    });
    expect(chunks.join('')).toBe('first\nsecond\n');
  });
});

describe('classic scripts: files and paths', () => {
  it('serves non-PHP files as static files and never sends PHP source', async () => {
    const css = await fetch(`${base}/assets/style.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toBe('body { color: #333; }\n');
    expect(await (await fetch(`${base}/assets/hello.txt`)).text()).toBe('plain text file\n');
    // A file answers GET and HEAD only.
    expect((await fetch(`${base}/assets/hello.txt`, { method: 'POST', body: 'x' })).status).toBe(405);
    for (const p of ['/lib/helpers.php', '/lib/routes.php', '/LIB/../index.php', '/index%2ephp', '/index.PHP']) {
      const r = await request(port, p);
      expect(r.body.toString(), p).not.toContain('<?php');
      expect(r.body.toString(), p).not.toContain('function app_');
    }
    // Included files run (they only declare functions): an empty 200, not their text.
    const inc = await request(port, '/lib/helpers.php');
    expect(inc.status).toBe(200);
    expect(inc.body.length).toBe(0);
  });

  it('refuses paths out of the root: .., encoded dots, NUL bytes', async () => {
    for (const p of ['/../outside.php', '/%2e%2e/outside.php', '/sub/%2E%2E/%2e%2e/outside.php', '/..%2foutside.php', '/index.php%00.txt', '/sub/page.php%00']) {
      const r = await request(port, p);
      expect(r.body.toString(), p).not.toContain('OUTSIDE RAN');
      expect([400, 403], p).toContain(r.status);
    }
  });

  it('refuses a script that is a symbolic link out of the root', async () => {
    const link = path.join(APP, 'sub', 'link-out.php');
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.join(work, 'outside.php'), link);
    try {
      const r = await request(port, '/sub/link-out.php');
      expect(r.status).toBe(403);
      expect(r.body.toString()).not.toContain('OUTSIDE RAN');
    } finally {
      fs.rmSync(link, { force: true });
    }
  });
});

describe('classic scripts: faults end only their request', () => {
  it('answers a fatal error 500 and serves the next request', async () => {
    const early = await fetch(`${base}/fatal-early`);
    expect(early.status).toBe(500);
    // Output still in php.ini's 4 KiB buffer: the head is not out, so PHP makes it a 500 (as
    // under php-fpm) and the body stops where the error happened.
    const late = await fetch(`${base}/fatal`);
    expect(late.status).toBe(500);
    expect(await late.text()).toBe('partial');
    const next = await fetch(`${base}/`);
    expect(next.status).toBe(200);
    expect(await next.text()).toBe('home: hello\n');
    const line = server.output.find((l) => l.includes('Call to undefined function undefined_function_of_the_app()'));
    // PHP's own log line, with the id of the request that raised it.
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', reqId: expect.stringMatching(/^req-/) });
  });

  it('stops a script over max_execution_time (set_time_limit) with PHP\'s own fatal error: 500', async () => {
    const r = await fetch(`${base}/slow`);
    expect(r.status).toBe(500);
    expect(server.output.some((l) => l.includes('Maximum execution time of 1 second exceeded'))).toBe(true);
    expect((await fetch(`${base}/`)).status).toBe(200);
  });

  for (const ignore of [false, true]) {
    it(`stops a script whose client went away${ignore ? ', unless ignore_user_abort' : ''}`, async () => {
      const log = path.join(work, `abort-${ignore}.log`);
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${base}/abort?ignore=${ignore ? 1 : 0}&log=${encodeURIComponent(log)}`, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => {});
        setTimeout(() => reject(new Error('no first chunk')), 10_000).unref();
      });
      // One PHP thread: this request is served once the aborted script has ended.
      expect((await fetch(`${base}/`)).status).toBe(200);
      // No log at all: the script was stopped right after its first flush, before it wrote one
      // (the client can read that chunk and leave before the script's next line runs).
      const last = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      if (ignore) expect(last).toBe('done aborted');
      else expect(last).not.toMatch(/^done/);
    });
  }

  it('never shows one request what another left behind', async () => {
    const marker = path.join(work, 'state-marker');
    // A sets globals, a constant, a static, an ini value, a header, a status and an open
    // buffer, and waits; B is sent while A runs.
    const a = request(port, `/state?set=1&marker=${encodeURIComponent(marker)}`, { headers: { cookie: 'only=a' } });
    const b = request(port, '/state?b=1');
    setTimeout(() => fs.writeFileSync(marker, ''), 100);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.status).toBe(201);
    expect(ra.headers['x-leak']).toBe('1');
    expect(json(ra)).toMatchObject({ cookie: { only: 'a' }, get: { set: '1' } });
    expect(rb.status).toBe(200);
    expect(rb.headers['x-leak']).toBeUndefined();
    expect(json(rb)).toEqual({
      global: null,
      const: false,
      static: 1,
      precision: '14',
      headers: expect.not.arrayContaining(['X-Leak: 1']),
      code: 200,
      ob: 1, // php.ini's output_buffering, the request's own
      session: 1, // PHP_SESSION_NONE
      cookie: [],
      get: { b: '1' },
    });
  });
});

describe('classic scripts: the worker APIs', () => {
  it('refuses HttpServer::onRequest() and Async\\ calls by name, twice in a row', async () => {
    for (let i = 0; i < 2; i++) {
      const r = (await (await fetch(`${base}/async-api`)).json()) as Record<string, string>;
      expect(r.onRequest).toContain('only available in a phpasync async worker');
      expect(r.spawn).toContain('can only be called inside a coroutine');
      expect(r.delay).not.toBe('ran');
    }
  });
});

describe('classic scripts: methods and bodies', () => {
  it('parses an urlencoded POST into $_POST and $_REQUEST, keeps php://input', async () => {
    const r = await fetch(`${base}/post?q=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=Ann&tags%5B%5D=a&tags%5B%5D=b',
    });
    expect(await r.json()).toEqual({
      post: { name: 'Ann', tags: ['a', 'b'] },
      request: { q: '1', name: 'Ann', tags: ['a', 'b'] },
      input: 'name=Ann&tags%5B%5D=a&tags%5B%5D=b',
    });
  });

  it('answers HEAD with the head only', async () => {
    const r = await request(port, '/headers', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['x-one']).toBe('1');
    expect(r.body.length).toBe(0);
  });

  it('sends a body larger than its buffers whole', async () => {
    const r = await request(port, '/big');
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(30000 * 101 + 4);
    expect(r.body.subarray(-4).toString()).toBe('end\n');
  });
});

describe('classic scripts: the `php` directive', () => {
  let php: Awaited<ReturnType<typeof runCaddyfile>>;
  let phpPort: number;
  let withFilesPort: number;
  beforeAll(async () => {
    // Two sites, two roots, one PHP thread: each request names its own root.
    const sub = path.join(APP, 'sub');
    php = await runCaddyfile(
      `http://127.0.0.1:0 {\n\troot * ${APP}\n\tphp\n}\nhttp://127.0.0.2:0 {\n\troot * ${sub}\n\tphp\n\tfile_server\n}\n`,
      2,
    );
    const ports = php.output.filter((l) => l.includes('Server listening at')).map((l) => /127\.0\.0\.(\d):(\d+)/.exec(l)!);
    phpPort = Number(ports.find((m) => m[1] === '1')![2]);
    withFilesPort = Number(ports.find((m) => m[1] === '2')![2]);
  });
  afterAll(async () => {
    await php?.stop();
  });

  it('runs only the script the path names: no file server, no index fallback', async () => {
    expect((await request(phpPort, '/sub/page.php/x')).body.toString()).toBe('page: /sub/page.php | /x | /sub/page.php/x\n');
    expect((await request(phpPort, '/index.php')).body.toString()).toBe('no route for /index.php\n'); // it ran
    const css = await request(phpPort, '/assets/style.css');
    expect(css.status).toBe(404);
    expect(css.body.toString()).not.toContain('color');
    expect((await request(phpPort, '/no/such/route')).status).toBe(404);
    expect((await request(phpPort, '/')).status).toBe(404);
  });

  it('leaves the other paths to the site\'s file_server, with its own root', async () => {
    const get = (p: string): Promise<Awaited<ReturnType<typeof request>>> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.2', port: withFilesPort, path: p, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    expect((await get('/page.php/x')).body.toString()).toBe('page: /page.php | /x | /page.php/x\n');
    const index = await get('/index.php');
    expect(index.body.toString()).toBe('sub index\n');
    const src = await get('/page.php');
    expect(src.body.toString()).not.toContain('<?php');
    expect((await get('/nothing.txt')).status).toBe(404);
    expect((await get('/note.txt')).body.toString()).toBe('a note in sub\n');
  });
});

describe('classic scripts: the config', () => {
  it('runs php_server without a worker, and still refuses a config with nothing to run PHP', async () => {
    const dir = tempDir();
    const ok = path.join(dir, 'ok.Caddyfile');
    fs.writeFileSync(ok, `http://127.0.0.1:0 {\n\troot * ${APP}\n\tphp_server\n}\n`);
    expect(await runCli(['validate', '--config', ok])).toMatchObject({ code: 0 });
    const none = path.join(dir, 'none.Caddyfile');
    fs.writeFileSync(none, `http://127.0.0.1:0 {\n\troot * ${APP}\n\tfile_server\n}\n`);
    const r = await runCli(['validate', '--config', none]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('no async worker to send requests to');
  });
});

describe('classic scripts: stopping', () => {
  it('past grace_period, a script still running is stopped and the server exits 0', async () => {
    const s = await runCaddyfile(`{\n\tgrace_period 1s\n}\nhttp://127.0.0.1:0 {\n\troot * ${APP}\n\tphp_server\n}\n`, 1);
    const line = s.output.find((l) => l.includes('Server listening at'))!;
    const p = Number(/:(\d+)"?,?/.exec(line.slice(line.indexOf('Server listening at')))![1]);
    // A script that waits for a marker nobody writes (up to 10 s), then notes that it ended.
    const done = path.join(work, 'stream-done');
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const q = `marker=${encodeURIComponent(path.join(work, 'never'))}&done=${encodeURIComponent(done)}`;
      http.get(`http://127.0.0.1:${p}/stream?${q}`, resolve).on('error', reject);
    });
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    const closed = new Promise<void>((resolve) => {
      res.on('close', resolve);
      res.on('error', () => resolve());
      res.resume();
    });
    expect(await s.stop()).toBe(0);
    await closed;
    expect(s.output.some((l) => l.includes('drain time is over: cancelled the requests still running'))).toBe(true);
    // The process is gone and the script never got to its end: it was stopped, not waited for.
    expect(fs.existsSync(done)).toBe(false);
  });
});

describe('classic scripts: num_threads', () => {
  it('runs num_threads scripts at once (processes on an NTS PHP), none seeing another\'s state', async () => {
    const s = await runCaddyfile(`{\n\tfrankenphp {\n\t\tnum_threads 2\n\t}\n}\nhttp://127.0.0.1:0 {\n\troot * ${APP}\n\tphp_server\n}\n`, 1);
    try {
      // NTS: two children say where they listen (unix sockets) before the supervisor does.
      const line = await waitFor(() => s.output.find((l) => l.includes('Server listening at http')), 30_000);
      const p = Number(/:(\d+)"?,?/.exec(line.slice(line.indexOf('Server listening at')))![1]);
      const marker = path.join(work, 'threads-marker');
      // A runs: its first chunk arrived, and it waits for the marker.
      const a = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: p, path: `/stream?marker=${encodeURIComponent(marker)}`, agent: false }, resolve).on('error', reject);
      });
      await new Promise<void>((resolve) => a.once('data', () => resolve()));
      let aEnded = false;
      const aEnd = new Promise<void>((resolve) => {
        a.on('end', () => {
          aEnded = true;
          resolve();
        });
        a.resume();
      });
      // B reaches the other PHP thread (connections and requests go round-robin). With one
      // thread B would wait for A, which waits for a marker nobody has written yet.
      const b = await request(p, '/state?b=1');
      expect(aEnded).toBe(false);
      expect(b.status).toBe(200);
      expect(JSON.parse(b.body.toString())).toMatchObject({ global: null, const: false, static: 1, code: 200 });
      fs.writeFileSync(marker, '');
      await aEnd;
    } finally {
      const code = await s.stop();
      expect({ code, tail: code === 0 ? [] : s.output.slice(-5) }).toEqual({ code: 0, tail: [] });
    }
  });
});
