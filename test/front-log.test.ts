// A site's `log` through real HTTP: one access-log line per request in Caddy's JSON shape, on
// stderr and in a file, for PHP's answers and the front's own; the URI as the client sent it;
// `format console` and an unwritable file refused by name.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request } from './helpers/request.js';
import { runCaddyfile, runCli, startServer, tempDir, type RunningServer } from './helpers/server.js';

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    $res->setHeader('X-App', 'yes');
    $res->write('hello ' . $req->getUri());
    $res->end();
});
`;

async function until(fn: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('log: the access log', () => {
  let server: RunningServer;
  let file: string;
  let errors: string;
  beforeAll(async () => {
    file = path.join(tempDir(), 'access.log');
    errors = path.join(tempDir(), 'errors.log');
    server = await startServer({
      workerSource: WORKER,
      siteBody: `log
	log {
		output file ${file}
	}
	log errors {
		output file ${errors}
		level ERROR
	}
	rewrite /old /new
	respond /boom "boom" 500
	respond /missing "gone" 410
	php_server {
		file_server off
	}`,
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  const access = (): Record<string, unknown>[] => server.logs().filter((l) => l.logger === 'http.log.access');

  it("one line per request, in Caddy's shape, on stderr and in the file", async () => {
    const r = await request(server.port, '/old?x=1', { headers: { 'X-Test': 'one' } });
    expect(r.body.toString()).toBe('hello /old?x=1');
    await request(server.port, '/missing');
    await until(() => access().length >= 2);
    const [php, gone] = access() as [Record<string, any>, Record<string, any>];
    expect(php).toMatchObject({
      level: 'info',
      logger: 'http.log.access',
      msg: 'handled request',
      request: { remote_ip: '127.0.0.1', proto: 'HTTP/1.1', method: 'GET', host: `127.0.0.1:${server.port}`, uri: '/old?x=1' },
      size: Buffer.byteLength('hello /old?x=1'),
      status: 200,
    });
    expect(php.request.headers['X-Test']).toEqual(['one']);
    expect(Number(php.request.remote_port)).toBeGreaterThan(0);
    expect(php.resp_headers['X-App']).toEqual(['yes']);
    expect(typeof php.ts).toBe('number');
    expect(php.duration).toBeGreaterThan(0);
    expect(gone).toMatchObject({ status: 410, size: 4, request: { uri: '/missing' } });
    await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length >= 2);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines.map((l) => [l.request.uri, l.status])).toEqual([
      ['/old?x=1', 200],
      ['/missing', 410],
    ]);
    expect(access()).toHaveLength(2);
  });

  it('counts the bytes and headers of answers on a kept-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          http
            .get({ port: server.port, host: '127.0.0.1', path: `/kept${i}`, agent }, (res) => {
              let text = '';
              res.setEncoding('latin1');
              res.on('data', (d: string) => (text += d));
              res.on('end', () => resolve(text));
            })
            .on('error', reject);
        });
        expect(body).toBe(`hello /kept${i}`);
      }
    } finally {
      agent.destroy();
    }
    const kept = (): Record<string, any>[] => access().filter((l) => String((l.request as { uri: string }).uri).startsWith('/kept'));
    await until(() => kept().length === 3);
    for (const [i, line] of kept().entries()) {
      expect(line).toMatchObject({ status: 200, size: Buffer.byteLength(`hello /kept${i}`), request: { uri: `/kept${i}` } });
      expect(line.resp_headers['X-App']).toEqual(['yes']);
    }
  });

  it('level ERROR keeps the 5xx lines only (level "error"), under the log\'s name', async () => {
    expect((await request(server.port, '/boom')).status).toBe(500);
    await until(() => fs.readFileSync(errors, 'utf8').length > 0);
    const lines = fs.readFileSync(errors, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines.map((l) => [l.level, l.logger, l.request.uri, l.status])).toEqual([['error', 'http.log.access.errors', '/boom', 500]]);
  });
});

describe('log and header over HTTP/2', () => {
  it("logs the body bytes once and applies header to PHP's HTTP/2 answers", async () => {
    const dir = tempDir();
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER.replace("$res->setHeader('X-App', 'yes');", "$res->setHeader('X-App', 'yes');\n    $res->setHeader('Server', 'secret');"));
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const server = await runCaddyfile(
      `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${dir}/w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttps://127.0.0.1:${port} {\n\ttls ${cert} ${key}\n\tlog\n\theader -Server\n\theader X-Site front\n\tphp_server {\n\t\tfile_server off\n\t}\n}\n`,
      1,
    );
    try {
      const client = http2.connect(`https://127.0.0.1:${port}`, { ca: fs.readFileSync(cert) });
      const got = await new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const q = client.request({ ':path': '/h2' });
        let headers: http2.IncomingHttpHeaders = {};
        let body = '';
        q.on('response', (h) => (headers = h));
        q.on('data', (d: Buffer) => (body += d.toString()));
        q.on('end', () => resolve({ headers, body }));
        q.on('error', reject);
        q.end();
      });
      client.close();
      expect(got.body).toBe('hello /h2');
      expect(got.headers['x-site']).toBe('front');
      expect(got.headers['x-app']).toBe('yes');
      expect(got.headers.server).toBeUndefined();
      const lines = (): Record<string, any>[] => server.output.flatMap((l) => (l.includes('http.log.access') ? [JSON.parse(l) as Record<string, any>] : []));
      await until(() => lines().length > 0);
      expect(lines()[0]).toMatchObject({ status: 200, size: Buffer.byteLength('hello /h2'), request: { proto: 'HTTP/2.0', uri: '/h2', tls: { proto: 'h2' } } });
      expect(lines()[0]!.resp_headers.Server).toBeUndefined();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 30_000);
});

describe('log: refused by name', () => {
  it('format console, a file that cannot be opened', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
    const caddyfile = (site: string): string => {
      const file = path.join(dir, 'Caddyfile');
      fs.writeFileSync(file, `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttp://127.0.0.1:0 {\n${site}\n}\n`);
      return file;
    };
    const v = await runCli(['validate', '--config', caddyfile('\tlog {\n\t\tformat console\n\t}')]);
    expect(v.code, v.out).toBe(2);
    expect(v.out).toContain('not supported yet: log format console (access logs are written as JSON lines)');
    const r = await runCli(['run', '--config', caddyfile(`\tlog {\n\t\toutput file ${dir}/no/such/dir/a.log\n\t}`)]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`cannot open the access log file ${dir}/no/such/dir/a.log: ENOENT`);
  });
});
