// FrankenPHP\Request and UploadedFile over real HTTP: every getter with its edge cases.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { expectNoOutstanding, json, request, startApiServer } from './api-helpers.js';
import { spawn } from 'node:child_process';

import { CLI, tempDir, waitFor, writeCaddyfile, type RunningServer } from './helpers/server.js';

interface FileInfo {
  name: string;
  type: string;
  size: number;
  error: number;
  tmp: string;
  content: string | null;
}
interface Dump {
  method: string;
  query: unknown;
  cookies: unknown;
  host: string;
  remote: string;
  scheme: string;
  protocol: string;
  parsed: unknown;
  files: Record<string, unknown>;
  body_len: number;
  body_md5: string;
  body_same: boolean;
  moved: string | null;
  error?: string;
}

const md5 = (b: Buffer | string): string => crypto.createHash('md5').update(b).digest('hex');

let server: RunningServer;
beforeAll(async () => {
  server = await startApiServer({ worker: 'api-request.php', globalExtra: 'php_ini upload_max_filesize 1K' });
});
afterEach(async () => {
  await expectNoOutstanding(server);
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

/** A multipart body from parts; file parts have a filename. */
function multipart(
  boundary: string,
  parts: { name: string; value: string | Buffer; filename?: string; type?: string }[],
): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    let h = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) h += `; filename="${p.filename}"`;
    h += '\r\n';
    if (p.type) h += `Content-Type: ${p.type}\r\n`;
    out.push(Buffer.from(h + '\r\n'), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

describe('request line, headers and connection', () => {
  it('gives host as sent, remote ip:port, scheme and protocol version', async () => {
    const j = await json<Dump>(server, { path: '/', headers: { Host: 'localhost:8080' } });
    expect(j.method).toBe('GET');
    expect(j.host).toBe('localhost:8080');
    expect(j.remote).toMatch(/^127\.0\.0\.1:\d{2,5}$/);
    expect(j.scheme).toBe('http');
    expect(j.protocol).toBe('HTTP/1.1');
  });

  it('reports HTTP/1.0 for a 1.0 client, and an empty host when none was sent', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const s = net.connect(server.port, '127.0.0.1', () => s.write('GET /v HTTP/1.0\r\n\r\n'));
      let buf = '';
      s.on('data', (d: Buffer) => (buf += d.toString()));
      s.on('end', () => resolve(buf));
      s.on('error', reject);
    });
    const j = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Dump;
    expect(j.protocol).toBe('HTTP/1.0');
    expect(j.host).toBe('');
  });
});

describe('getRemoteAddr() over IPv6', () => {
  it('brackets the address: "[::1]:port"', async () => {
    const dir = tempDir();
    const file = writeCaddyfile(dir, { worker: 'api-request.php' });
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('http://127.0.0.1:0', 'http://[::1]:0'));
    const proc = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        const on = (d: Buffer): void => {
          out += d.toString();
          const m = /listening at http:\/\/\[::1\]:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        };
        proc.stdout.on('data', on);
        proc.stderr.on('data', on);
        proc.once('exit', () => reject(new Error(out)));
      });
      const j = (await (await fetch(`http://[::1]:${port}/`)).json()) as Dump;
      expect(j.remote).toMatch(/^\[::1\]:\d{2,5}$/);
      expect(j.host).toBe(`[::1]:${port}`);
    } finally {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  });
});

describe('getQueryParams()', () => {
  it('parses as $_GET: repeated keys (last wins), brackets, + and %26, mangled names', async () => {
    const j = await json<Dump>(server, {
      path: '/q?a=1&a=2&b[]=x&b[]=y&c[k]=v&c[n][]=1&plus=a+b&amp=x%26y%3Dz&sp%20ace=1&dot.name=2&empty=&flag',
    });
    expect(j.query).toEqual({
      a: '2',
      b: ['x', 'y'],
      c: { k: 'v', n: ['1'] },
      plus: 'a b',
      amp: 'x&y=z',
      sp_ace: '1',
      dot_name: '2',
      empty: '',
      flag: '',
    });
  });

  it('gives [] without a query string', async () => {
    expect((await json<Dump>(server, { path: '/plain' })).query).toEqual([]);
    expect((await json<Dump>(server, { path: '/plain?' })).query).toEqual([]);
  });
});

describe('getCookies()', () => {
  it('URL-decodes values as $_COOKIE does, first of a repeated name wins', async () => {
    const j = await json<Dump>(server, {
      path: '/',
      headers: { Cookie: 'a=hello%20world; b=x+y; c=%3D%3B%26; a=second;  arr[k]=1;noval; =skip' },
    });
    expect(j.cookies).toEqual({ a: 'hello world', b: 'x+y', c: '=;&', arr: { k: '1' }, noval: '' });
  });

  it('gives [] without a Cookie header', async () => {
    expect((await json<Dump>(server, { path: '/' })).cookies).toEqual([]);
  });
});

describe('getBody()', () => {
  it('is empty for an empty POST', async () => {
    const j = await json<Dump>(server, { method: 'POST', path: '/', headers: { 'content-length': '0' }, body: Buffer.alloc(0) });
    expect(j.body_len).toBe(0);
    expect(j.body_md5).toBe(md5(''));
    expect(j.parsed).toBeNull();
  });

  it('is binary-safe (NUL bytes) and the same string on every call', async () => {
    const body = Buffer.from([0, 0, 1, 2, 255, 0, 13, 10, 0]);
    const j = await json<Dump>(server, { method: 'PUT', path: '/', headers: { 'content-type': 'application/octet-stream' }, body });
    expect(j.body_len).toBe(body.length);
    expect(j.body_md5).toBe(md5(body));
    expect(j.body_same).toBe(true);
    expect(j.parsed).toBeNull();
  });

  it('carries a 10 MB body intact', async () => {
    const body = crypto.randomBytes(10 * 1000 * 1000);
    const j = await json<Dump>(server, { method: 'POST', path: '/', headers: { 'content-type': 'application/octet-stream' }, body });
    expect(j.body_len).toBe(body.length);
    expect(j.body_md5).toBe(md5(body));
  });
});

describe('getParsedBody()', () => {
  it('parses application/x-www-form-urlencoded as $_POST', async () => {
    const j = await json<Dump>(server, {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      body: 'a=1&b[]=2&b[]=3&c=x+y%26z&d[k]=v',
    });
    expect(j.parsed).toEqual({ a: '1', b: ['2', '3'], c: 'x y&z', d: { k: 'v' } });
    expect(j.files).toEqual([]);
  });

  it('is null for other content types and for no body', async () => {
    const j = await json<Dump>(server, { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(j.parsed).toBeNull();
    expect((await json<Dump>(server, { path: '/' })).parsed).toBeNull();
  });

  it('parses multipart fields, two files in one field, repeated and nested file fields', async () => {
    const b = '----phpasyncBoundary7MA4YWxk';
    const body = multipart(b, [
      { name: 'title', value: 'Hello world' },
      { name: 'tags[]', value: 'a' },
      { name: 'tags[]', value: 'b' },
      { name: 'docs[]', value: 'first file', filename: 'one.txt', type: 'text/plain' },
      { name: 'docs[]', value: Buffer.from([0, 1, 2, 0]), filename: 'two.bin', type: 'application/octet-stream' },
      { name: 'same', value: 'A', filename: 'a.txt' },
      { name: 'same', value: 'B', filename: 'b.txt' },
      { name: 'deep[x][y]', value: 'deep', filename: 'C:\\Users\\me\\deep.txt' },
      { name: 'none', value: '', filename: '' },
      { name: 'big', value: 'x'.repeat(2000), filename: 'big.txt' },
    ]);
    const res = await request(server, {
      method: 'POST',
      path: '/',
      headers: { 'content-type': `multipart/form-data; boundary="${b}"` },
      body,
    });
    expect(res.status).toBe(200);
    const j = JSON.parse(res.body.toString()) as Dump;
    expect(j.parsed).toEqual({ title: 'Hello world', tags: ['a', 'b'] });
    const f = j.files as Record<string, FileInfo[] & Record<string, unknown>>;
    const docs = f.docs as unknown as FileInfo[];
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({ name: 'one.txt', type: 'text/plain', size: 10, error: 0, content: 'first file' });
    expect(docs[1]).toMatchObject({ name: 'two.bin', type: 'application/octet-stream', size: 4, error: 0 });
    expect(Buffer.from(docs[1]!.content!, 'latin1')).toEqual(Buffer.from([0, 1, 2, 0]));
    const same = f.same as unknown as FileInfo[];
    expect(same.map((x) => [x.name, x.content])).toEqual([
      ['a.txt', 'A'],
      ['b.txt', 'B'],
    ]);
    expect((f.deep as unknown as Record<string, Record<string, FileInfo>>).x!.y).toMatchObject({ name: 'deep.txt', content: 'deep' });
    expect(f.none).toMatchObject({ name: '', error: 4, size: 0, tmp: '', content: null }); // UPLOAD_ERR_NO_FILE
    expect(f.big).toMatchObject({ name: 'big.txt', error: 1, size: 0, tmp: '' }); // UPLOAD_ERR_INI_SIZE (1K)
    // The temp files go when the request ends.
    const tmps = [...docs, ...same].map((x) => x.tmp);
    for (const t of tmps) expect(t).not.toBe('');
    await waitFor(() => tmps.every((t) => !fs.existsSync(t)));
  });

  it('refuses a malformed multipart body with a clear error', async () => {
    const noBoundary = await request(server, {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'multipart/form-data' },
      body: 'x',
    });
    expect(noBoundary.status).toBe(400);
    expect(JSON.parse(noBoundary.body.toString()).error).toBe(
      'UnexpectedValueException: Malformed multipart/form-data body: the Content-Type has no boundary parameter',
    );
    const truncated = await request(server, {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      body: '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue without end',
    });
    expect(JSON.parse(truncated.body.toString()).error).toBe(
      'UnexpectedValueException: Malformed multipart/form-data body: the closing boundary is missing',
    );
    const garbage = await request(server, {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      body: 'no delimiter here at all',
    });
    expect(JSON.parse(garbage.body.toString()).error).toBe('UnexpectedValueException: Malformed multipart/form-data body: no boundary line');
  });
});

describe('UploadedFile::moveTo()', () => {
  it('moves the temp file once, and refuses a second move', async () => {
    const dir = tempDir();
    const to = path.join(dir, 'moved.txt');
    const b = 'b0undary';
    const j = await json<Dump>(server, {
      method: 'POST',
      path: `/move?to=${encodeURIComponent(to)}`,
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      body: multipart(b, [{ name: 'file', value: 'moved content', filename: 'm.txt', type: 'text/plain' }]),
    });
    expect(j.moved).toBe('Cannot move "m.txt": it was moved already');
    expect(fs.readFileSync(to, 'utf8')).toBe('moved content');
    expect(fs.existsSync((j.files.file as FileInfo).tmp)).toBe(false);
    // Moved files outlive the request.
    await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(to)).toBe(true);
  });
});

describe('objects not created by phpasync', () => {
  it('throw a clear Error', async () => {
    expect(await json(server, { path: '/new' })).toEqual([
      'This FrankenPHP\\Request was not created by phpasync',
      'This FrankenPHP\\Request was not created by phpasync',
      'This FrankenPHP\\Request was not created by phpasync',
      'This FrankenPHP\\UploadedFile was not created by phpasync',
    ]);
  });
});
