// handle, handle_path and route through real HTTP: handle blocks are mutually exclusive (the most
// specific matching one runs), a handle without a terminal handler lets the request go on,
// handle_path strips its prefix, route runs its body in written order.
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

describe('handle, handle_path, route', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'css'));
    fs.writeFileSync(path.join(root, 'css', 'site.css'), 'body{}');
    fs.writeFileSync(path.join(root, 'secret.php'), '<?php echo "source";');
    server = await startServer({
      workerSource: WORKER,
      siteBody: `handle_path /static/* {
		root * ${root}
		file_server
	}
	handle /api/* {
		header X-Handled api
	}
	handle /api/special {
		respond "special"
	}
	route /ord/* {
		respond /ord/first "first {path}"
		rewrite * /ord/first
		respond "second {path}"
	}
	php_server {
		file_server off
	}`,
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('handle_path strips its prefix before the file server; PHP files are never sent', async () => {
    const r = await request(server.port, '/static/css/site.css');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('body{}');
    expect((await request(server.port, '/static/missing.css')).status).toBe(404);
    const php = await request(server.port, '/static/secret.php');
    expect(php.status).toBe(403);
    expect(php.body.toString()).not.toContain('source');
  });

  it('handle blocks: only the most specific matching one runs; without a terminal the request goes on', async () => {
    const s = await request(server.port, '/api/special');
    expect(s.body.toString()).toBe('special');
    expect(s.headers['x-handled']).toBeUndefined();
    const o = await request(server.port, '/api/other');
    expect(o.body.toString()).toBe('php /api/other');
    expect(o.headers['x-handled']).toBe('api');
    expect((await request(server.port, '/elsewhere')).headers['x-handled']).toBeUndefined();
  });

  it('route keeps its written order (a respond before the rewrite sees the path unrewritten)', async () => {
    expect((await request(server.port, '/ord/first')).body.toString()).toBe('first /ord/first');
    expect((await request(server.port, '/ord/x')).body.toString()).toBe('second /ord/first');
  });
});

describe('handle: refused by name', () => {
  it('site-wide directives and php_server file serving inside handle, handle_path without a path', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
    for (const [site, what] of [
      ['\thandle /a/* {\n\t\tencode gzip\n\t}', 'not supported yet: encode inside handle/handle_path'],
      ['\thandle /a/* {\n\t\tphp_server\n\t}', "not supported yet: php_server's file server inside handle/handle_path"],
      ['\thandle_path {\n\t\trespond "x"\n\t}', 'Caddyfile:11:2: handle_path needs a path matcher such as /api/*'],
      ['\thandle /a/* {\n\t\tfile_server {\n\t\t\tbrowse\n\t\t}\n\t}', "Caddyfile:13:4: file_server: subdirective 'browse' is not supported by phpasync"],
    ]) {
      const file = path.join(dir, 'Caddyfile');
      fs.writeFileSync(file, `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttp://127.0.0.1:0 {\n${site}\n}\n`);
      const r = await runCli(['validate', '--config', file]);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(what);
    }
  });
});
