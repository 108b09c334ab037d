// headers_send() with a 1xx status (FrankenPHP's 103 Early Hints): the headers set so far go
// out as an informational response, and the final response follows when the PHP code ends.
// Real server, raw sockets (a 1xx is invisible to fetch()), in the classic worker loop, in
// classic scripts and in an async worker; never to an HTTP/1.0 client (RFC 9110, 15.2).
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, runCaddyfile, startServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

const LOOP = path.join(ROOT, 'test/fixtures/classic-loop/public');
const SCRIPTS = path.join(ROOT, 'test/fixtures/classic-hints');

/** A raw HTTP exchange: `sent` is written as is; `data` grows as bytes arrive. */
function exchange(port: number, sent: string): { data: () => string; ended: Promise<string>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  const ended = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  socket.write(sent);
  return { data: () => data, ended, socket };
}

const get = (target: string, version = '1.1'): string => `GET ${target} HTTP/${version}\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

/** The heads (status line + header lines) in the order they came, and the body after the last. */
function heads(raw: string): { heads: string[][]; body: string } {
  const out: string[][] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    out.push(lines);
    rest = rest.slice(end + 4);
    if (!/^HTTP\/1\.[01] 1\d\d /.test(lines[0]!)) break;
  }
  return { heads: out, body: rest };
}

/** Reads a 103, then lets the PHP code go on (it waits for the release file), then the rest. */
async function earlyThenFinal(port: number, target: string, markers: string, tag: string): Promise<{ heads: string[][]; body: string }> {
  const x = exchange(port, get(target));
  // The 103 arrives while PHP is still waiting: the final head is not there yet.
  const early = await waitFor(() => (x.data().includes('\r\n\r\n') ? x.data() : undefined), 10_000);
  expect(early).toMatch(/^HTTP\/1\.1 103 Early Hints\r\n/);
  expect(early).not.toContain('HTTP/1.1 200');
  fs.writeFileSync(path.join(markers, `release-${tag}`), '');
  return heads(await x.ended);
}

describe('headers_send(103) in the classic worker loop', () => {
  let server: RunningServer;
  const markers = tempDir();
  beforeAll(async () => {
    server = await startServer({
      worker: path.join(LOOP, 'index.php'),
      async: false,
      workerExtra: `env MARKERS ${markers}`,
      siteBody: `root * ${LOOP}\n\tphp_server`,
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('sends the Link headers set so far as 103 Early Hints before the final response', async () => {
    const r = await earlyThenFinal(server.port, '/hints?wait=1&tag=loop', markers, 'loop');
    expect(r.heads).toHaveLength(2);
    const [info, final] = r.heads;
    expect(info).toEqual([
      'HTTP/1.1 103 Early Hints',
      'Link: </style.css>; rel=preload; as=style',
      'Link: </app.js>; rel=preload; as=script',
      'X-Hint: early',
    ]);
    expect(final![0]).toBe('HTTP/1.1 200 OK');
    // The final response keeps the headers set before the 103 (as FrankenPHP sends them) and those after.
    expect(final).toContain('Link: </style.css>; rel=preload; as=style');
    expect(final).toContain('X-Final: yes');
    expect(r.body).toBe('final body, headers_send(103) returned 1');
  });

  it('sends no 1xx to an HTTP/1.0 client: its final response only', async () => {
    const x = exchange(server.port, get('/hints?tag=h10', '1.0'));
    const r = heads(await x.ended);
    expect(r.heads).toHaveLength(1);
    expect(r.heads[0]![0]).toMatch(/^HTTP\/1\.[01] 200 OK$/);
    expect(r.body).toBe('final body, headers_send(103) returned 1');
  });

  it('returns 3 (not sent) once the final head has gone out, and the response is unharmed', async () => {
    const x = exchange(server.port, get('/hints-late'));
    const raw = await x.ended;
    expect(raw).not.toContain(' 103 ');
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw).toContain('head first');
    expect(raw).toContain(' then 3');
  });

  it('refuses 101 and statuses out of range with a clear error', async () => {
    const r101 = await fetch(`${server.url}/hints-bad?status=101`);
    expect(await r101.text()).toBe('ValueError: not supported yet: headers_send(101): a protocol switch cannot be sent from PHP');
    const r99 = await fetch(`${server.url}/hints-bad?status=99`);
    expect(await r99.text()).toBe('ValueError: headers_send(): Argument #1 ($status) must be a status between 100 and 599, 99 given');
  });
});

describe('headers_send(103) in classic scripts', () => {
  let server: Awaited<ReturnType<typeof runCaddyfile>>;
  let port: number;
  const markers = tempDir();
  beforeAll(async () => {
    server = await runCaddyfile(
      `http://127.0.0.1:0 {
	root * ${SCRIPTS}
	php_server {
		env MARKERS ${markers}
	}
}
`,
      1,
    );
    const line = server.output.find((l) => l.includes('Server listening at'))!;
    port = Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sends 103 Early Hints before the script goes on, then the page', async () => {
    const r = await earlyThenFinal(port, '/hints.php?wait=1&tag=script', markers, 'script');
    expect(r.heads).toHaveLength(2);
    expect(r.heads[0]).toEqual(['HTTP/1.1 103 Early Hints', 'Link: </style.css>; rel=preload; as=style']);
    expect(r.heads[1]![0]).toBe('HTTP/1.1 200 OK');
    expect(r.heads[1]).toContain('X-Final: yes');
    expect(r.body).toContain('script body, headers_send(103) returned 1');
  });

  it('sends no 1xx to an HTTP/1.0 client', async () => {
    const r = heads(await exchange(port, get('/hints.php', '1.0')).ended);
    expect(r.heads).toHaveLength(1);
    expect(r.heads[0]![0]).toMatch(/ 200 OK$/);
  });

  it('sends the final head at once with a final status (headers_sent() is true after it)', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/final.php`);
    expect(r.status).toBe(202);
    expect(r.headers.get('x-early')).toBe('yes');
    expect(await r.text()).toBe('sent 0, code 202, headers_sent yes');
  });
});

describe('headers_send(103) in an async worker and over HTTP/2', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      workerSource: `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    $res->setHeader('Link', '</a.css>; rel=preload; as=style');
    $sent = headers_send(103);
    $res->write("async $sent");
    $res->end();
});`,
      globalOptions: 'servers {\n\t\tprotocols h1 h2c\n\t}',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('sends the Response headers set so far as a 103', async () => {
    const r = heads(await exchange(server.port, get('/')).ended);
    expect(r.heads).toHaveLength(2);
    expect(r.heads[0]).toEqual(['HTTP/1.1 103 Early Hints', 'Link: </a.css>; rel=preload; as=style']);
    expect(r.heads[1]![0]).toBe('HTTP/1.1 200 OK');
    expect(r.body).toContain('async 1');
  });

  it('sends the 103 as informational headers on an HTTP/2 stream', async () => {
    const client = http2.connect(server.url);
    try {
      const req = client.request({ ':path': '/' });
      const infos: http2.IncomingHttpHeaders[] = [];
      req.on('headers', (h) => infos.push(h));
      const final = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        req.on('response', resolve);
        req.on('error', reject);
      });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      await new Promise((resolve) => req.on('end', resolve));
      expect(infos).toHaveLength(1);
      expect(infos[0]![':status']).toBe(103);
      expect(infos[0]!.link).toBe('</a.css>; rel=preload; as=style');
      expect(final[':status']).toBe(200);
      expect(body).toBe('async 1');
    } finally {
      client.close();
    }
  });
});
