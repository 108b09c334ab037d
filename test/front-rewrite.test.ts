// `rewrite` and `uri` through real HTTP: the worker's match, the file server and respond see the
// rewritten URI (Caddy's order: rewrite, then uri, then respond, then the file server); PHP gets
// the URI the client sent, as FrankenPHP's REQUEST_URI. What cannot be evaluated is refused.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request } from './helpers/request.js';
import { runCli, startServer, tempDir, type RunningServer } from './helpers/server.js';

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    $res->write('php ' . $req->getMethod() . ' ' . $req->getUri());
    $res->end();
});
`;

describe('rewrite and uri before routing', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'hello.txt'), 'hello file');
    server = await startServer({
      workerSource: WORKER,
      workerMatch: 'match /api/*',
      siteBody: `root * ${root}
	rewrite /old /api/new?from=old
	@del method DELETE
	rewrite @del /api/deleted
	rewrite /forbidden /api/blocked
	uri strip_prefix /v1
	respond /api/blocked "blocked {path}" 403
	php_server`,
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('a rewritten path reaches the worker its match names; PHP sees the URI as sent', async () => {
    const r = await request(server.port, '/old?x=1');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('php GET /old?x=1');
    const del = await request(server.port, '/some/file.txt', { method: 'DELETE' });
    expect(del.body.toString()).toBe('php DELETE /some/file.txt');
  });

  it('uri strip_prefix: the stripped path goes to the worker or the file server', async () => {
    expect((await request(server.port, '/v1/api/thing')).body.toString()).toBe('php GET /v1/api/thing');
    // As the path matchers, the prefix is compared without regard to case.
    expect((await request(server.port, '/V1/api/thing')).body.toString()).toBe('php GET /V1/api/thing');
    const f = await request(server.port, '/v1/hello.txt');
    expect(f.status).toBe(200);
    expect(f.body.toString()).toBe('hello file');
  });

  it('respond tests and fills in the rewritten path', async () => {
    const r = await request(server.port, '/forbidden');
    expect(r.status).toBe(403);
    expect(r.body.toString()).toBe('blocked /api/blocked');
  });

  it('paths neither rewritten nor matched stay with the file server', async () => {
    expect((await request(server.port, '/hello.txt')).body.toString()).toBe('hello file');
    expect((await request(server.port, '/new')).status).toBe(404);
  });
});

describe('rewrite: refused by name', () => {
  it('placeholders not known here', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
    const file = path.join(dir, 'Caddyfile');
    fs.writeFileSync(file, `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile w.php\n\t\t\tasync\n\t\t\tmatch /api/*\n\t\t}\n\t}\n}\nhttp://127.0.0.1:0 {\n\trewrite * /api{http.request.header.X-A}\n}\n`);
    const r = await runCli(['validate', '--config', file]);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toContain(`not supported yet: rewrite placeholder {http.request.header.X-A}`);
    expect(r.out).toContain(`${file}:11)`);
  });
});
