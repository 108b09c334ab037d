// `respond` and `redir` through real HTTP: they answer before PHP, with path matchers and
// request placeholders; other matchers and placeholders are refused by name.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request } from './helpers/request.js';
import { runCli, startServer, tempDir, type RunningServer } from './helpers/server.js';

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    $res->write('php ' . $req->getUri());
    $res->end();
});
`;

describe('respond and redir before PHP', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      workerSource: WORKER,
      siteBody: `redir /old /new?from={uri} 301
	redir /page.html /page html
	@health path /health /ready
	respond @health "ok {method} {host}" 200
	respond /teapot 418
	php_server {
		file_server off
	}`,
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('redirects with the placeholders filled in', async () => {
    const r = await request(server.port, '/old?x=1');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/new?from=/old?x=1');
    const html = await request(server.port, '/page.html');
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.body.toString()).toContain('Redirecting to <a href="/page">/page</a>');
  });

  it('responds with status and body; other paths reach PHP', async () => {
    const ok = await request(server.port, '/health');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(ok.body.toString()).toBe('ok GET 127.0.0.1');
    const head = await request(server.port, '/ready', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const tea = await request(server.port, '/teapot');
    expect(tea.status).toBe(418);
    expect(tea.body.length).toBe(0);
    expect((await request(server.port, '/other')).body.toString()).toBe('php /other');
  });
});

describe('respond and redir: refused by name', () => {
  it('path patterns not evaluated here, placeholders not known here', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
    for (const [site, what] of [
      ['\trespond /a%2Fb "x"', "not supported yet: respond with a path matcher: '/a%2Fb': percent-escapes in a path matcher"],
      ['\trespond "{http.request.header.X-A}"', 'not supported yet: respond placeholder {http.request.header.X-A}'],
      ['\tredir * https://{host}{uri}?{query} 308\n\t@h header X-A {http.request.host}\n\tredir @h /x', 'not supported yet: redir with a header matcher'],
    ]) {
      const file = path.join(dir, 'Caddyfile');
      fs.writeFileSync(file, `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttp://127.0.0.1:0 {\n${site}\n}\n`);
      const r = await runCli(['validate', '--config', file]);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(what);
    }
  });
});
