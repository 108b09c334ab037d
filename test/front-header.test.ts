// `header` through real HTTP: set/add before the handler (the handler's own header wins),
// delete/default/replace and `>`/defer on what the handler sent, with matchers, on PHP's
// responses and on those the front answers itself.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request } from './helpers/request.js';
import { runCli, startServer, tempDir, type RunningServer } from './helpers/server.js';

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    $res->setHeader('X-Powered', 'php');
    $res->setHeader('Server', 'secret/1.0');
    $res->setHeader('X-Version', 'v-old-old');
    if ($req->getUri() === '/api/cached') $res->setHeader('Cache-Control', 'max-age=60');
    $res->write('php');
    $res->end();
});
`;

describe('header on every response', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      workerSource: WORKER,
      siteBody: `header X-Site phpasync
	header X-Powered front
	header -Server
	header /api/* ?Cache-Control no-store
	header >X-Version old new
	header {
		+Link "</a.css>; rel=preload"
		+Link "</b.js>; rel=preload"
		X-Host {host}
	}
	@post method POST
	header @post X-Method post
	respond /resp "hi"
	php_server {
		file_server off
	}`,
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("on PHP's responses: set, add, delete, default, replace; the handler's own value wins a set", async () => {
    const r = await request(server.port, '/page');
    expect(r.body.toString()).toBe('php');
    expect(r.headers['x-site']).toBe('phpasync');
    expect(r.headers['x-powered']).toBe('php');
    expect(r.headers.server).toBeUndefined();
    expect(r.headers['cache-control']).toBeUndefined();
    expect(r.headers['x-version']).toBe('v-new-new');
    expect(r.headers.link).toBe('</a.css>; rel=preload, </b.js>; rel=preload');
    expect(r.headers['x-host']).toBe('127.0.0.1');
    expect(r.headers['x-method']).toBeUndefined();
  });

  it('matchers: a default only where the handler set none; method matchers', async () => {
    expect((await request(server.port, '/api/x')).headers['cache-control']).toBe('no-store');
    expect((await request(server.port, '/api/cached')).headers['cache-control']).toBe('max-age=60');
    expect((await request(server.port, '/api/x', { method: 'POST' })).headers['x-method']).toBe('post');
  });

  it('on answers the front writes itself (respond)', async () => {
    const r = await request(server.port, '/resp');
    expect(r.body.toString()).toBe('hi');
    expect(r.headers['x-site']).toBe('phpasync');
    expect(r.headers['x-powered']).toBe('front');
  });
});

describe('header: refused by name', () => {
  it('placeholders not known here, bad prefixes', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
    for (const [site, what] of [
      ['\theader X-A {http.request.header.X-B}', 'not supported yet: header placeholder {http.request.header.X-B}'],
      ['\theader -X-A value', 'Caddyfile:11:14: header: -X-A deletes the field and takes no value'],
      ['\theader X-A "(" b', 'Caddyfile:11:13: header: invalid regular expression: Unterminated group'],
      ['\theader {\n\t\tmatch {\n\t\t\tstatus 200\n\t\t}\n\t}', 'header: match (response matchers) is not supported by phpasync'],
    ]) {
      const file = path.join(dir, 'Caddyfile');
      fs.writeFileSync(file, `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttp://127.0.0.1:0 {\n${site}\n}\n`);
      const r = await runCli(['validate', '--config', file]);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(what);
    }
  });
});
