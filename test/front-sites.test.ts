// Several site blocks and addresses in one server, through real sockets: sites chosen by Host
// (exact name, *.wildcard, localhost) on a shared port, and addresses on IPv4 and IPv6.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCaddyfile, tempDir } from './helpers/server.js';

/** A port free right now (the server binds it a moment later). */
async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function get(host: string, port: number, hostHeader?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/who.txt', headers: hostHeader ? { host: hostHeader } : {}, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
}

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    $res->write('php ' . $req->getHost() . ' ' . $req->getUri());
    $res->end();
});
`;

describe('several sites and addresses', () => {
  let server: Awaited<ReturnType<typeof runCaddyfile>>;
  let shared: number;
  let v4: number;
  let v6: number;
  beforeAll(async () => {
    const dir = tempDir();
    for (const name of ['a', 'b']) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'who.txt'), `site ${name}`);
    }
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
    shared = await freePort();
    v4 = await freePort();
    v6 = await freePort('::1');
    server = await runCaddyfile(
      `{
	frankenphp {
		worker {
			file ${dir}/w.php
			async
			match *
		}
	}
}
http://example.com:${shared} {
	root * ${dir}/a
	file_server
}
http://*.example.com:${shared} {
	root * ${dir}/b
	file_server
}
http://localhost:${shared} {
	php_server {
		file_server off
	}
}
http://127.0.0.1:${v4}, http://[::1]:${v6} {
	php_server {
		file_server off
	}
}
`,
      3,
    );
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('chooses the site by Host on a shared port: exact, wildcard, localhost', async () => {
    expect(await get('127.0.0.1', shared, 'example.com')).toEqual({ status: 200, body: 'site a' });
    expect(await get('127.0.0.1', shared, 'EXAMPLE.com:1234')).toEqual({ status: 200, body: 'site a' });
    expect(await get('127.0.0.1', shared, 'www.example.com')).toEqual({ status: 200, body: 'site b' });
    expect(await get('127.0.0.1', shared, `localhost:${shared}`)).toEqual({ status: 200, body: `php localhost:${shared} /who.txt` });
  });

  it('answers 404 when no site takes the Host (a wildcard is one label)', async () => {
    const deep = await get('127.0.0.1', shared, 'a.b.example.com');
    expect(deep.status).toBe(404);
    expect(deep.body).toContain("no site here for host 'a.b.example.com'");
    expect((await get('127.0.0.1', shared, 'other.org')).status).toBe(404);
  });

  it('listens on IPv4 and IPv6 addresses of one site', async () => {
    expect((await get('127.0.0.1', v4)).body).toBe(`php 127.0.0.1:${v4} /who.txt`);
    expect((await get('::1', v6)).body).toBe(`php [::1]:${v6} /who.txt`);
  });
});
