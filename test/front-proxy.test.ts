// reverse_proxy through real HTTP to real upstream servers started here: round robin, the
// stripped and rewritten URI, the client's Host and X-Forwarded-*, request bodies streamed
// both ways, active health checks taking an upstream out and back, passive ones after a failure
// (502 once, then the next upstream; 503 when none is left).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

interface Upstream {
  server: http.Server;
  port: number;
  healthy: boolean;
}

async function upstream(name: string): Promise<Upstream> {
  const u: Upstream = { server: http.createServer(), port: 0, healthy: true };
  u.server.on('request', (req, res) => {
    if (req.url === '/health') {
      res.writeHead(u.healthy ? 200 : 503).end();
      return;
    }
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      const h = req.headers;
      res.setHeader('x-upstream', name);
      res.end(`${name} ${req.method} ${req.url} host=${h.host} xff=${h['x-forwarded-for']} proto=${h['x-forwarded-proto']} xfh=${h['x-forwarded-host']} body=${n}`);
    });
  });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.port = (u.server.address() as AddressInfo).port;
  return u;
}

/** Polls an async condition until it holds (10 s at most). */
async function until(fn: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('reverse_proxy', () => {
  let server: RunningServer;
  let a: Upstream;
  let b: Upstream;
  beforeAll(async () => {
    a = await upstream('A');
    b = await upstream('B');
    const dead = await deadPort();
    const dead2 = await deadPort();
    server = await startServer({
      workerSource: WORKER,
      siteBody: `handle_path /svc/* {
		reverse_proxy 127.0.0.1:${a.port} {
			to http://127.0.0.1:${b.port}
			lb_policy round_robin
			health_uri /health
			health_interval 50ms
		}
	}
	reverse_proxy /passive/* 127.0.0.1:${dead} 127.0.0.1:${a.port} {
		lb_policy first
		fail_duration 1m
	}
	reverse_proxy /gone/* 127.0.0.1:${dead2} {
		fail_duration 1m
	}
	php_server {
		file_server off
	}`,
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    a.server.close();
    b.server.close();
  });

  it('round robin over the upstreams, the prefix stripped, Host kept, X-Forwarded-* added', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await request(server.port, '/svc/item?q=1');
      expect(r.status).toBe(200);
      seen.push(r.body.toString());
    }
    const tail = `GET /item?q=1 host=127.0.0.1:${server.port} xff=127.0.0.1 proto=http xfh=127.0.0.1:${server.port} body=0`;
    expect(seen.map((s) => s.slice(2))).toEqual([tail, tail, tail, tail]);
    const names = seen.map((s) => s[0]);
    expect(names[0]).not.toBe(names[1]);
    expect(names[0]).toBe(names[2]);
    expect(names[1]).toBe(names[3]);
    expect((await request(server.port, '/elsewhere')).body.toString()).toBe('php /elsewhere');
  });

  it('streams a request body to the upstream', async () => {
    const body = Buffer.alloc(300_000, 'x');
    const r = await new Promise<string>((resolve, reject) => {
      const req = http.request({ port: server.port, host: '127.0.0.1', path: '/svc/upload', method: 'POST', agent: false }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(r).toMatch(/^[AB] POST \/upload .* body=300000$/);
  });

  it('active health checks take an upstream out while its check fails, and back', async () => {
    b.healthy = false;
    // Once the check has seen it, four requests in a row all go to A.
    await until(async () => {
      const names = [];
      for (let i = 0; i < 4; i++) names.push((await request(server.port, '/svc/x')).headers['x-upstream']);
      return names.every((n) => n === 'A');
    });
    b.healthy = true;
    await until(async () => (await request(server.port, '/svc/x')).headers['x-upstream'] === 'B');
  });

  it('passive health: a failed upstream answers 502 once, then the next one takes its requests', async () => {
    const first = await request(server.port, '/passive/1');
    expect(first.status).toBe(502);
    expect(first.body.toString()).toContain('Bad Gateway: no answer from the upstream http://127.0.0.1:');
    const second = await request(server.port, '/passive/2');
    expect(second.status).toBe(200);
    expect(second.body.toString()).toMatch(/^A GET \/passive\/2 /);
  });

  it('an Upgrade (WebSocket) is refused by name and not counted against the upstream', async () => {
    const up = await request(server.port, '/passive/ws', { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
    expect(up.status).toBe(501);
    expect(up.body.toString()).toContain('not supported yet: Upgrade: websocket through reverse_proxy');
    expect((await request(server.port, '/passive/3')).status).toBe(200);
  });

  it('no upstream left: 503', async () => {
    expect((await request(server.port, '/gone/1')).status).toBe(502);
    const r = await request(server.port, '/gone/2');
    expect(r.status).toBe(503);
    expect(r.body.toString()).toContain('no upstream is up');
  });
});

describe('reverse_proxy: refused by name', () => {
  it('https upstreams, subdirectives phpasync lacks, typos', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
    for (const [site, what] of [
      ['\treverse_proxy https://example.com', 'Caddyfile:11:16: reverse_proxy: https upstreams are not supported by phpasync'],
      ['\treverse_proxy localhost:9000 {\n\t\theader_up X-A b\n\t}', "Caddyfile:12:3: reverse_proxy: subdirective 'header_up' is not supported by phpasync"],
      ['\treverse_proxy localhost:9000 {\n\t\thealth_urii /h\n\t}', "Caddyfile:12:3: reverse_proxy: unrecognized subdirective 'health_urii' (did you mean health_uri?)"],
      ['\treverse_proxy localhost:9000 {\n\t\tlb_policy ip_hash\n\t}', "reverse_proxy: lb_policy 'ip_hash' is not supported by phpasync"],
      ['\treverse_proxy localhost', "Caddyfile:11:16: reverse_proxy: upstream 'localhost' needs a port"],
    ]) {
      const file = path.join(dir, 'Caddyfile');
      fs.writeFileSync(file, `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttp://127.0.0.1:0 {\n${site}\n}\n`);
      const r = await runCli(['validate', '--config', file]);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(what);
    }
  });
});
