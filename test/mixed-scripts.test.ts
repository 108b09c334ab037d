// An async worker and classic scripts in one server (php_server next to a worker), through real
// HTTP: the worker's routes answered by the worker (a static counter proves it stays booted),
// the other .php files run as classic scripts in a classic-scripts process with the real
// client's $_SERVER, sessions, an upload, a fatal error that harms no one else, a slow classic
// script that does not hold the worker up, a forged private header ignored, body limits, 503
// when the classic ring is full, a client abort, a SIGKILLed classic process replaced, and
// SIGTERM draining both kinds.
// MIXED_CLI=/path/to/dist/src/cli/main.js runs the same tests against another build;
// `scripts/test-zts.sh test/mixed-scripts.test.ts` against a thread-safe PHP (same placement).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request } from './helpers/request.js';
import { ROOT, startServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

const APP = path.join(ROOT, 'test/fixtures/mixed-app');
const CLI = {
  ...(process.env.MIXED_CLI ? { cli: process.env.MIXED_CLI } : {}),
  ...(process.env.PHPASYNC_ZTS_ADDON ? { env: { PHPASYNC_ADDON: process.env.PHPASYNC_ZTS_ADDON } } : {}),
};

type Json = Record<string, unknown>;

function json(body: Buffer): Json {
  return JSON.parse(body.toString()) as Json;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A GET sent from a known local port: REMOTE_PORT must be that port. */
function fromPort(port: number, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), localPort }));
    });
    let localPort = 0;
    req.on('socket', (s) => s.on('connect', () => (localPort = s.localPort!)));
    req.on('error', reject);
    req.end();
  });
}

let server: RunningServer;
let work: string;

beforeAll(async () => {
  work = tempDir();
  server = await startServer({
    ...CLI,
    worker: path.join(APP, 'worker.php'),
    workerMatch: 'match /api/*',
    siteBody: `root * ${APP}
	request_body {
		max_size 64KB
	}
	php_server`,
  });
});

afterAll(async () => {
  await server?.stop();
});

describe('an async worker and classic scripts in one server', () => {
  it("answers the worker's routes from the async worker, which stays booted", async () => {
    const a = json((await request(server.port, '/api/one')).body);
    const b = json((await request(server.port, '/api/two')).body);
    expect(a.worker).toBe(true);
    expect(b.uri).toBe('/api/two');
    expect(b.count as number).toBeGreaterThan(a.count as number);
    expect(a.pid).toBe(server.proc.pid);
  });

  it("runs another .php file as a classic script, with the real client's $_SERVER", async () => {
    const r = await fromPort(server.port, '/server.php/extra/info?a=1&b=two', { 'x-custom': 'yes' });
    expect(r.status).toBe(200);
    const s = json(r.body);
    const real = fs.realpathSync(APP);
    expect(s).toMatchObject({
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_PORT: r.localPort,
      HTTPS: null,
      REQUEST_SCHEME: 'http',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(server.port),
      SERVER_PROTOCOL: 'HTTP/1.1',
      HTTP_HOST: `127.0.0.1:${server.port}`,
      REQUEST_URI: '/server.php/extra/info?a=1&b=two',
      QUERY_STRING: 'a=1&b=two',
      SCRIPT_NAME: '/server.php',
      SCRIPT_FILENAME: path.join(real, 'server.php'),
      PHP_SELF: '/server.php/extra/info',
      PATH_INFO: '/extra/info',
      DOCUMENT_ROOT: real,
      REQUEST_METHOD: 'GET',
      HTTP_X_CUSTOM: 'yes',
      HTTP_X_PHPASYNC_CLASSIC: null,
    });
    // Run elsewhere than the worker's process.
    expect(s.pid).not.toBe(server.proc.pid);
    expect(r.localPort).toBeGreaterThan(0);
  });

  it('sends static files and directory indexes as php_server does', async () => {
    const file = await request(server.port, '/hello.txt');
    expect(file.status).toBe(200);
    expect(file.body.toString()).toBe('hello static\n');
    const dir = await request(server.port, '/sub?x=1');
    expect(dir.status).toBe(308);
    expect(dir.headers.location).toBe('/sub/?x=1');
    const idx = await request(server.port, '/sub/');
    expect(idx.status).toBe(200);
    expect(idx.body.toString()).toBe('sub index /sub/index.php');
  });

  it('keeps a session across two classic requests', async () => {
    const first = await fetch(`${server.url}/session.php`);
    expect(await first.text()).toBe('visits: 1');
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    expect(cookie).toMatch(/^PHPSESSID=/);
    const second = await fetch(`${server.url}/session.php`, { headers: { cookie } });
    expect(await second.text()).toBe('visits: 2');
  });

  it('takes a form POST with an upload in a classic script', async () => {
    const form = new FormData();
    form.append('title', 'the report');
    form.append('doc', new Blob(['uploaded bytes \u00e9']), 'report.txt');
    const r = await fetch(`${server.url}/upload.php`, { method: 'POST', body: form });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ title: 'the report', name: 'report.txt', size: 17, content: 'uploaded bytes \u00e9' });
  });

  it("applies the site's body limit to classic scripts, and gives them the body", async () => {
    const big = await fetch(`${server.url}/server.php`, { method: 'POST', body: 'x'.repeat(70 * 1024) });
    expect(big.status).toBe(413);
    const small = await fetch(`${server.url}/server.php`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'raw body' });
    expect(await small.json()).toMatchObject({ body: 'raw body', CONTENT_LENGTH: '8', CONTENT_TYPE: 'text/plain', REQUEST_METHOD: 'POST' });
  });

  it('takes a body sent after Expect: 100-continue', async () => {
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, path: '/server.php', method: 'POST', headers: { expect: '100-continue', 'content-type': 'text/plain', 'content-length': '5' }, agent: false },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('continue', () => req.end('hello'));
      req.on('error', reject);
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ body: 'hello', CONTENT_LENGTH: '5' });
  });

  it('survives a fatal error in a classic script: the worker and the next classic request are served', async () => {
    const fatal = await request(server.port, '/fatal.php');
    expect(fatal.status).toBe(500);
    const w = await request(server.port, '/api/after-fatal');
    expect(w.status).toBe(200);
    expect(json(w.body).worker).toBe(true);
    const c = await request(server.port, '/server.php');
    expect(c.status).toBe(200);
    expect(json(c.body).SCRIPT_NAME).toBe('/server.php');
  });

  it('ignores a forged private header and forwarding headers from a client', async () => {
    const forged = encodeURIComponent(JSON.stringify(['6.6.6.6', 1, 'https', 'HTTP/2.0', ['/', '/etc/passwd', '/passwd', ''], 0, 'forged']));
    const r = await fromPort(server.port, '/server.php', { 'X-Phpasync-Classic': forged, 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https' });
    expect(r.status).toBe(200);
    const s = json(r.body);
    expect(s).toMatchObject({ REMOTE_ADDR: '127.0.0.1', REMOTE_PORT: r.localPort, HTTPS: null, SCRIPT_NAME: '/server.php', SERVER_PROTOCOL: 'HTTP/1.1', HTTP_X_PHPASYNC_CLASSIC: null });
    // Sent on to PHP as any header: the application decides whether to trust it.
    expect(s.HTTP_X_FORWARDED_FOR).toBe('6.6.6.6');
  });

  it('serves the worker while a classic script runs (overlap by counting)', async () => {
    const file = path.join(work, 'overlap');
    let slowDone = false;
    const slow = request(server.port, `/slow.php?file=${encodeURIComponent(file)}`).then((r) => {
      slowDone = true;
      return r;
    });
    await waitFor(() => fs.existsSync(`${file}.started`), 20_000);
    // The classic script is running: the worker answers meanwhile.
    let answered = 0;
    for (let i = 0; i < 5; i++) {
      const w = await request(server.port, `/api/during-${i}`);
      expect(w.status).toBe(200);
      if (!slowDone) answered++;
    }
    expect(answered).toBe(5);
    // The worker releases it.
    const rel = await request(server.port, `/api/release?file=${encodeURIComponent(file)}`);
    expect(rel.status).toBe(200);
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('released');
  });

  it("streams a classic script's flush()ed output as it comes", async () => {
    const file = path.join(work, 'stream');
    const first = await new Promise<{ text: string; rest: Promise<string> }>((resolve, reject) => {
      http.get(`${server.url}/stream.php?file=${encodeURIComponent(file)}`, (res) => {
        let text = '';
        const rest = new Promise<string>((done) => res.on('end', () => done(text)));
        // Answered whole at once (a 403 before classic scripts ran next to a worker): say so.
        res.on('end', () => reject(new Error(`${res.statusCode}: ${text}`)));
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (text === 'first part;') resolve({ text, rest });
        });
      }).on('error', reject);
    });
    // The script is still waiting for the file: what came is what flush() sent.
    expect(first.text).toBe('first part;');
    fs.writeFileSync(file, 'go');
    expect(await first.rest).toBe('first part;rest');
  });

  it('answers 503 when the classic ring is full, and serves the rest once the script ends', async () => {
    const file = path.join(work, 'busy');
    const slow = request(server.port, `/slow.php?file=${encodeURIComponent(file)}`);
    await waitFor(() => fs.existsSync(`${file}.started`), 20_000);
    let busy = 0;
    const others = Array.from({ length: 30 }, () =>
      request(server.port, '/server.php').then((r) => {
        if (r.status === 503) busy++;
        return r;
      }),
    );
    // One PHP thread, held by slow.php, and a ring of 20: some wait past max_wait_time.
    await waitFor(() => busy > 0, 20_000);
    fs.writeFileSync(file, 'go');
    expect((await slow).body.toString()).toBe('released');
    const all = await Promise.all(others);
    const statuses = all.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(all.find((r) => r.status === 503)!.body.toString()).toContain('Service Unavailable');
  });

  it('serves 1500 classic requests pipelined in one write, in order, without a 503', async () => {
    const n = 1500;
    const raw = await new Promise<string>((resolve, reject) => {
      const s = net.connect(server.port, '127.0.0.1', () => {
        s.write(Array.from({ length: n }, (_, i) => `GET /server.php?i=${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
      });
      let buf = '';
      s.on('error', reject);
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        if ((buf.match(/"pid":/g) ?? []).length >= n) {
          s.destroy();
          resolve(buf);
        }
      });
    });
    expect((raw.match(/^HTTP\/1\.1 (\d+)/gm) ?? []).filter((l) => l !== 'HTTP/1.1 200')).toEqual([]);
    const order = [...raw.matchAll(/"REQUEST_URI":"\\\/server\.php\?i=(\d+)"/g)].map((m) => Number(m[1]));
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('stops a classic script whose client went away', async () => {
    const file = path.join(work, 'abort');
    const req = http.get(`${server.url}/slow.php?file=${encodeURIComponent(file)}`);
    req.on('error', () => {});
    await waitFor(() => fs.existsSync(`${file}.started`), 20_000);
    req.destroy();
    // Never released: it ends because its client left.
    await waitFor(() => fs.existsSync(`${file}.ended`), 20_000);
    expect(fs.readFileSync(`${file}.ended`, 'utf8')).toBe('aborted');
    expect((await request(server.port, '/server.php')).status).toBe(200);
  });

  it('replaces a SIGKILLed classic process: its request gets 502, the next ones are served', async () => {
    const before = json((await request(server.port, '/server.php')).body).pid as number;
    const file = path.join(work, 'killed');
    const inflight = request(server.port, `/slow.php?file=${encodeURIComponent(file)}`);
    await waitFor(() => fs.existsSync(`${file}.started`), 20_000);
    process.kill(before, 'SIGKILL');
    const r = await inflight;
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain('classic scripts process 1 ended');
    const next = await request(server.port, '/server.php');
    expect(next.status).toBe(200);
    const after = json(next.body).pid as number;
    expect(after).not.toBe(before);
    expect(alive(before)).toBe(false);
    // The worker never noticed.
    expect((await request(server.port, '/api/after-kill')).status).toBe(200);
    expect(server.logs().some((l) => l.classic === 1 && l.signal === 'SIGKILL')).toBe(true);
  });
});

describe('SIGTERM with a classic script running', () => {
  it('drains both kinds: the classic request ends, then every process exits', async () => {
    const s = await startServer({ ...CLI, worker: path.join(APP, 'worker.php'), workerMatch: 'match /api/*', siteBody: `root * ${APP}\n\tphp_server` });
    const child = json((await request(s.port, '/server.php')).body).pid as number;
    const file = path.join(work, 'drain');
    const slow = request(s.port, `/slow.php?file=${encodeURIComponent(file)}`);
    await waitFor(() => fs.existsSync(`${file}.started`), 20_000);
    s.proc.kill('SIGTERM');
    await waitFor(() => s.output.some((l) => l.includes('shutting down')), 10_000);
    fs.writeFileSync(file, 'go');
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('released');
    expect(await s.exited).toBe(0);
    await waitFor(() => !alive(child), 10_000);
  });
});

describe('a worker declared in php_server, without match', () => {
  it('gives the paths that name no other script to the worker, runs the other .php files', async () => {
    const s = await startServer({
      ...CLI,
      worker: path.join(APP, 'worker.php'),
      workerMatch: '',
      siteBody: `root * ${APP}\n\tphp_server`,
    });
    try {
      const w = json((await request(s.port, '/some/route')).body);
      expect(w).toMatchObject({ worker: true, uri: '/some/route' });
      const again = json((await request(s.port, '/worker.php')).body);
      expect(again.worker).toBe(true);
      expect(again.count as number).toBeGreaterThan(w.count as number);
      const c = json((await request(s.port, '/server.php')).body);
      expect(c).toMatchObject({ SCRIPT_NAME: '/server.php', REMOTE_ADDR: '127.0.0.1' });
      expect(c.pid).not.toBe(s.proc.pid);
      expect((await request(s.port, '/hello.txt')).body.toString()).toBe('hello static\n');
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});
