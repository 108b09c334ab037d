// HTTPS sites with `tls <cert> <key>`: HTTP/2 and HTTP/1.1 by ALPN on one port, the Request API
// seeing https and the protocol version, encode over HTTP/2, a clean stop with a session open;
// and what is refused by name (ACME, tls internal, http and https mixed, unreadable files).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCaddyfile, runCli, tempDir } from './helpers/server.js';

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    if ($req->getUri() === '/h1-headers') {
        $res->setHeader('Keep-Alive', 'timeout=5');
        $res->setHeader('Upgrade', 'foo');
        $res->setHeader('Connection', 'close');
        $res->setHeader('X-Kept', 'yes');
        $res->write('h1 headers');
        $res->end();
        return;
    }
    $res->setHeader('Content-Type', 'application/json');
    $info = ['scheme' => $req->getScheme(), 'proto' => $req->getProtocolVersion(), 'host' => $req->getHost(),
        'headers' => array_change_key_case($req->getHeaders()), 'body' => $req->getBody()];
    if ($req->getUri() === '/big') $info['pad'] = str_repeat('abcdefgh', 200);
    $res->write(json_encode($info));
    $res->end();
});
`;

/** A self-signed certificate for localhost and 127.0.0.1, made for this run. */
function makeCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function caddyfile(dir: string, site: string): string {
  fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
  return `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${dir}/w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\n${site}\n`;
}

function h2Request(client: http2.ClientHttp2Session, reqPath: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':path': reqPath, ':method': opts.method ?? 'GET', ...opts.headers });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => resolve({ headers, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('https site with tls <cert> <key>', () => {
  let server: Awaited<ReturnType<typeof runCaddyfile>>;
  let port: number;
  let ca: Buffer;
  beforeAll(async () => {
    const dir = tempDir();
    const { cert, key } = makeCert(dir);
    ca = fs.readFileSync(cert);
    port = await freePort();
    server = await runCaddyfile(
      caddyfile(dir, `https://127.0.0.1:${port} {\n\ttls ${cert} ${key}\n\tencode gzip\n\tphp_server {\n\t\tfile_server off\n\t}\n}`),
      1,
    );
  });

  it('speaks HTTP/2 by ALPN; PHP sees https, HTTP/2.0, the host and a body', async () => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca });
    try {
      const r = await h2Request(client, '/x?a=1', { method: 'POST', body: 'payload', headers: { 'x-test': 'yes' } });
      expect(r.headers[':status']).toBe(200);
      const j = JSON.parse(r.body.toString()) as { scheme: string; proto: string; host: string; headers: Record<string, string>; body: string };
      expect(j.scheme).toBe('https');
      expect(j.proto).toBe('HTTP/2.0');
      expect(j.host).toBe(`127.0.0.1:${port}`);
      expect(j.headers['x-test']).toBe('yes');
      expect(Object.keys(j.headers).some((k) => k.startsWith(':'))).toBe(false);
      expect(j.body).toBe('payload');
      const big = await h2Request(client, '/big', { headers: { 'accept-encoding': 'gzip' } });
      expect(big.headers['content-encoding']).toBe('gzip');
      expect(JSON.parse(zlib.gunzipSync(big.body).toString()).pad).toBe('abcdefgh'.repeat(200));
    } finally {
      client.close();
    }
  });

  it('drops the HTTP/1 connection headers PHP sets (HTTP/2 forbids them) and keeps the rest', async () => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca });
    try {
      const r = await h2Request(client, '/h1-headers');
      expect(r.headers[':status']).toBe(200);
      expect(r.body.toString()).toBe('h1 headers');
      expect(r.headers['x-kept']).toBe('yes');
      for (const h of ['keep-alive', 'upgrade', 'connection']) expect(r.headers[h], h).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it('speaks HTTP/1.1 over TLS to clients without h2', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/y', ca, ALPNProtocols: ['http/1.1'], agent: false }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    const j = JSON.parse(body) as { scheme: string; proto: string };
    expect(j).toMatchObject({ scheme: 'https', proto: 'HTTP/1.1' });
  });

  afterAll(async () => {
    // A session left open must not keep the server from stopping.
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca });
    client.on('error', () => {});
    await h2Request(client, '/open');
    expect(await server.stop()).toBe(0);
    // It went away when told to, rather than being cut when the drain time was over.
    expect(server.output.join('\n')).not.toContain('drain time is over');
    client.close();
  });
});

describe('TLS refused by name', () => {
  const validate = async (site: string): Promise<string> => {
    const dir = tempDir();
    const file = path.join(dir, 'Caddyfile');
    fs.writeFileSync(file, caddyfile(dir, site));
    const r = await runCli(['validate', '--config', file]);
    expect(r.code, r.out).toBe(2);
    return r.out;
  };

  it('automatic HTTPS (ACME), tls internal, http and https together', async () => {
    expect(await validate('https://example.com {\n\tphp_server\n}')).toContain('not supported yet: automatic HTTPS (ACME certificates)');
    expect(await validate('example.com {\n\ttls me@example.com\n}')).toContain('not supported yet: automatic HTTPS (ACME certificates, tls <email>)');
    expect(await validate('example.com {\n\ttls internal\n}')).toContain('not supported yet: tls internal');
    expect(await validate('https://a.com:8443 {\n\ttls c.pem k.pem\n}\nhttp://b.com:8080 {\n}')).toContain('not supported yet: http and https sites in one config');
  });

  it('a certificate and key that are not a pair stop the start with their names', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'c.pem'), 'not a certificate');
    const { key } = makeCert(dir);
    const file = path.join(dir, 'Caddyfile');
    fs.writeFileSync(file, caddyfile(dir, `https://127.0.0.1:0 {\n\ttls ${dir}/c.pem ${key}\n}`));
    const r = await runCli(['run', '--config', file]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`the TLS certificate ${dir}/c.pem and key ${key} do not make a pair`);
  });
});

describe('h2c when asked (servers { protocols h1 h2c })', () => {
  let server: Awaited<ReturnType<typeof runCaddyfile>>;
  let port: number;
  beforeAll(async () => {
    const dir = tempDir();
    port = await freePort();
    const text = caddyfile(dir, `http://127.0.0.1:${port} {\n\tphp_server {\n\t\tfile_server off\n\t}\n}`).replace('{\n\tfrankenphp', '{\n\tservers {\n\t\tprotocols h1 h2c\n\t}\n\tfrankenphp');
    server = await runCaddyfile(text, 1);
  });

  it('serves HTTP/2 by prior knowledge and HTTP/1.1 on the same port', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const r = await h2Request(client, '/h2', { method: 'POST', body: 'b2' });
      expect(JSON.parse(r.body.toString())).toMatchObject({ scheme: 'http', proto: 'HTTP/2.0', body: 'b2' });
    } finally {
      client.close();
    }
    // Two pipelined HTTP/1.1 requests in the first bytes: both answered, in order.
    const sock = net.connect(port, '127.0.0.1');
    sock.write(`GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise((r) => sock.on('close', r));
    expect(text.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    expect(text.split('"proto":"HTTP\\/1.1"')).toHaveLength(3);
  });

  afterAll(async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    await h2Request(client, '/open');
    expect(await server.stop()).toBe(0);
    expect(server.output.join('\n')).not.toContain('drain time is over');
    client.close();
  });
});

describe('protocols refused by name', () => {
  it('h3, and a list without h1', async () => {
    for (const [protocols, what] of [
      ['h1 h2 h3', 'servers protocols h3 (HTTP/3)'],
      ['h2c', 'servers protocols without h1'],
    ]) {
      const dir = tempDir();
      const file = path.join(dir, 'Caddyfile');
      fs.writeFileSync(file, caddyfile(dir, 'http://127.0.0.1:0 {\n\tphp_server {\n\t\tfile_server off\n\t}\n}').replace('{\n\tfrankenphp', `{\n\tservers {\n\t\tprotocols ${protocols}\n\t}\n\tfrankenphp`));
      const r = await runCli(['validate', '--config', file]);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(`not supported yet: ${what}`);
    }
  });
});

describe('two https sites on one port', () => {
  it('each gets its own certificate (SNI) and its own requests (Host), over HTTP/2', async () => {
    const dir = tempDir();
    const a = makeCert(dir);
    const bdir = path.join(dir, 'b');
    fs.mkdirSync(bdir);
    const bcert = path.join(bdir, 'cert.pem');
    const bkey = path.join(bdir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', bkey, '-out', bcert, '-days', '1', '-subj', '/CN=b.test', '-addext', 'subjectAltName=DNS:b.test'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(bdir, 'who.txt'), 'static b');
    const port = await freePort();
    const server = await runCaddyfile(
      caddyfile(dir, `https://localhost:${port} {\n\ttls ${a.cert} ${a.key}\n\tphp_server {\n\t\tfile_server off\n\t}\n}\nhttps://b.test:${port} {\n\ttls ${bcert} ${bkey}\n\troot * ${bdir}\n\tfile_server\n}`),
      1,
    );
    try {
      // Each client trusts only its site's certificate: a wrong pick fails the handshake.
      const ca = http2.connect(`https://localhost:${port}`, { ca: fs.readFileSync(a.cert) });
      const php = await h2Request(ca, '/x');
      ca.close();
      expect(JSON.parse(php.body.toString())).toMatchObject({ scheme: 'https', proto: 'HTTP/2.0', host: `localhost:${port}` });
      const cb = http2.connect(`https://127.0.0.1:${port}`, { ca: fs.readFileSync(bcert), servername: 'b.test' });
      const file = await h2Request(cb, '/who.txt', { headers: { ':authority': `b.test:${port}` } });
      cb.close();
      expect(file.body.toString()).toBe('static b');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('h2c and a connection that sends nothing', () => {
  it('is closed after read_header, as an HTTP/1 one would be', async () => {
    const dir = tempDir();
    const port = await freePort();
    const text = caddyfile(dir, `http://127.0.0.1:${port} {\n\tphp_server {\n\t\tfile_server off\n\t}\n}`).replace(
      '{\n\tfrankenphp',
      '{\n\tservers {\n\t\tprotocols h1 h2c\n\t\ttimeouts {\n\t\t\tread_header 300ms\n\t\t}\n\t}\n\tfrankenphp',
    );
    const server = await runCaddyfile(text, 1);
    try {
      const sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => {});
      // Resolves only if the server closes it (the test's own timeout is the failure).
      await new Promise((r) => sock.on('close', r));
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
