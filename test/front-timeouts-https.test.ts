// `servers { timeouts { read_header read_body idle } }` on an https site, for HTTP/1.1 over TLS
// and for HTTP/2: what the http site gets (test/timeouts.test.ts) holds there too. Each
// assertion is about what the server did; the clients' own timeouts only keep a failing test
// from hanging.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCaddyfile, tempDir } from './helpers/server.js';

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    $res->write('ok ' . $req->getUri() . ' ' . strlen($req->getBody()));
    $res->end();
});
`;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

let server: Awaited<ReturnType<typeof runCaddyfile>>;
let port: number;
let ca: Buffer;

beforeAll(async () => {
  const dir = tempDir();
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  ca = fs.readFileSync(cert);
  port = await freePort();
  fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
  server = await runCaddyfile(
    `{\n\tservers {\n\t\ttimeouts {\n\t\t\tread_header 1s\n\t\t\tread_body 2s\n\t\t\tidle 1s\n\t\t}\n\t}\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${dir}/w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttps://127.0.0.1:${port} {\n\ttls ${cert} ${key}\n\tphp_server {\n\t\tfile_server off\n\t}\n}\n`,
    1,
  );
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

/** A TLS connection (HTTP/1.1 by ALPN) that writes `head`, then `piece` every 200 ms; resolves
 * with what the server sent once it closed the connection. The client gives up after 10 s
 * (10 × the timeouts set here; Node's own checks would only come at its 30 s interval). */
function trickleTls(head: string, piece: string): Promise<string> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    // The pieces start once the head is written (a slow handshake must not put one before it).
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['http/1.1'] }, () => {
      socket.write(head);
      timer = setInterval(() => socket.writable && socket.write(piece), 200);
    });
    let out = '';
    socket.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      clearInterval(timer);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve(out);
    });
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

describe('HTTP/1.1 over TLS', () => {
  it('read_header: headers that trickle in are answered 408 and the connection closed', async () => {
    const got = await trickleTls('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-A: b\r\n');
    expect(got, server.output.join('\n')).toMatch(/^HTTP\/1\.1 408 /);
  }, 30_000);

  it('read_body: a body that trickles in is answered 408', async () => {
    const got = await trickleTls('POST /up HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n', 'x');
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
  }, 30_000);

  it('idle: a keep-alive connection without a further request is closed', async () => {
    const got = await new Promise<{ out: string; byServer: boolean }>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['http/1.1'] }, () => socket.write('GET /one HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      let out = '';
      let byServer = false;
      socket.on('data', (d: Buffer) => (out += d.toString()));
      socket.on('end', () => (byServer = true));
      socket.on('error', () => {});
      socket.on('close', () => resolve({ out, byServer }));
      socket.setTimeout(20_000, () => socket.destroy());
    });
    expect(got.out).toContain('ok /one 0');
    expect(got.byServer).toBe(true);
  }, 30_000);
});

describe('HTTP/2', () => {
  it('idle: a session with no stream open is closed by the server', async () => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca });
    client.on('error', () => {});
    const body = await new Promise<string>((resolve, reject) => {
      const req = client.request({ ':path': '/two' });
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => resolve(b));
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('ok /two 0');
    const why = await new Promise<string>((resolve) => {
      client.once('goaway', () => resolve('goaway'));
      client.once('close', () => resolve('close'));
      setTimeout(() => resolve('still open'), 15_000).unref();
    });
    expect(why).not.toBe('still open');
    client.close();
  }, 30_000);

  it('read_body: a stream whose body trickles in is answered 408', async () => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca });
    client.on('error', () => {});
    const req = client.request({ ':path': '/up', ':method': 'POST', 'content-length': '1000' });
    req.on('error', () => {});
    const timer = setInterval(() => req.writable && req.write('x'), 200);
    const status = await new Promise<number | string>((resolve) => {
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('close', () => resolve(`closed (rst ${req.rstCode})`));
      setTimeout(() => resolve('no answer'), 15_000).unref();
    });
    clearInterval(timer);
    expect(status).toBe(408);
    client.destroy();
  }, 30_000);

  it('read_header: a TLS connection that sends nothing is closed', async () => {
    const closed = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] });
      socket.resume(); // 'close' comes after the server's end has been read
      socket.on('error', () => {});
      socket.on('close', () => resolve('closed'));
      setTimeout(() => {
        resolve('still open');
        socket.destroy();
      }, 15_000).unref();
    });
    expect(closed).toBe('closed');
  }, 30_000);
});

describe('h2c (HTTP/2 without TLS)', () => {
  it('read_body: a stream whose body trickles in is answered 408', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.php'), WORKER);
    const h2cPort = await freePort();
    const h2c = await runCaddyfile(
      `{\n\tservers {\n\t\tprotocols h1 h2c\n\t\ttimeouts {\n\t\t\tread_body 1s\n\t\t}\n\t}\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${dir}/w.php\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\nhttp://127.0.0.1:${h2cPort} {\n\tphp_server {\n\t\tfile_server off\n\t}\n}\n`,
      1,
    );
    try {
      const client = http2.connect(`http://127.0.0.1:${h2cPort}`);
      client.on('error', () => {});
      const req = client.request({ ':path': '/up', ':method': 'POST', 'content-length': '1000' });
      req.on('error', () => {});
      const timer = setInterval(() => req.writable && req.write('x'), 200);
      const status = await new Promise<number | string>((resolve) => {
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('close', () => resolve(`closed (rst ${req.rstCode})`));
        setTimeout(() => resolve('no answer'), 15_000).unref();
      });
      clearInterval(timer);
      expect(status).toBe(408);
      client.destroy();
    } finally {
      expect(await h2c.stop()).toBe(0);
    }
  }, 30_000);
});
