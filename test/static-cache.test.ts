// The file server's cache (src/server/static-cache.ts) through real HTTP: a hot file is sent
// from memory, and every change to it is seen by the next request: new bytes, a new file renamed
// over it with the old size and mtime, a symbolic link pointed out of the root, a parent
// directory replaced by a link, deletion. The cached answer's headers are @fastify/send's.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { request } from './helpers/request.js';
import { startServer, tempDir, type RunningServer } from './helpers/server.js';

const WORKER = `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) { $res->write('php'); $res->end(); });
`;

describe('file server cache', () => {
  let server: RunningServer;
  let base: string;
  let www: string;
  const get = (p: string, headers: Record<string, string> = {}) => request(server.port, p, { headers });
  /** The same file twice: the second answer comes from memory. */
  const twice = async (p: string) => {
    await get(p);
    return get(p);
  };

  beforeAll(async () => {
    base = tempDir();
    www = path.join(base, 'www');
    fs.mkdirSync(path.join(www, 'd'), { recursive: true });
    fs.mkdirSync(path.join(base, 'out'));
    fs.writeFileSync(path.join(base, 'out', 'f.txt'), 'OUTSIDE SECRET');
    fs.writeFileSync(path.join(base, 'outside.txt'), 'OUTSIDE SECRET');
    server = await startServer({
      workerSource: WORKER,
      workerMatch: 'match /api/*',
      siteBody: `root * ${www}\n\tencode gzip\n\tfile_server`,
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("answers from memory with @fastify/send's headers", async () => {
    for (const [name, body] of [
      ['a.txt', 'text file'],
      ['b.json', '{"a":1}'],
      ['c.unknownext', 'no type'],
    ] as const) {
      fs.writeFileSync(path.join(www, name), body);
      const hot = await twice(`/${name}`);
      // A precondition that never holds sends the request through @fastify/send's 200.
      const viaSend = await get(`/${name}`, { 'if-none-match': '"never"' });
      expect(hot.status, name).toBe(200);
      expect(hot.body.toString(), name).toBe(body);
      expect(viaSend.status, name).toBe(200);
      for (const h of ['etag', 'last-modified', 'content-type', 'content-length', 'accept-ranges']) {
        expect(hot.headers[h], `${name} ${h}`).toBe(viaSend.headers[h]);
      }
      expect((await get(`/${name}`, { 'if-none-match': hot.headers.etag! })).status, name).toBe(304);
    }
    const head = await request(server.port, '/a.txt', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('9');
    expect(head.body.length).toBe(0);
  });

  it('encodes a cached file for clients that accept it', async () => {
    const css = 'body { color: red; }\n'.repeat(100);
    fs.writeFileSync(path.join(www, 's.css'), css);
    await twice('/s.css');
    const r = await get('/s.css', { 'accept-encoding': 'gzip' });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(r.body).toString()).toBe(css);
  });

  it('sends new bytes at once, even from a file renamed over it with the same size and mtime', async () => {
    const f = path.join(www, 'v.txt');
    const t = 1_700_000_000; // whole seconds: the same mtime is set exactly on both files
    fs.writeFileSync(f, 'version 1');
    fs.utimesSync(f, t, t);
    expect((await twice('/v.txt')).body.toString()).toBe('version 1');
    // Same size and mtime: only the inode (and ctime) differ.
    fs.writeFileSync(f + '.new', 'version 2');
    fs.utimesSync(f + '.new', t, t);
    fs.renameSync(f + '.new', f);
    expect((await get('/v.txt')).body.toString()).toBe('version 2');
    fs.writeFileSync(f, 'version 3, longer');
    expect((await get('/v.txt')).body.toString()).toBe('version 3, longer');
    fs.rmSync(f);
    expect((await get('/v.txt')).status).toBe(404);
  });

  it('refuses a link pointed out of the root right after it was served', async () => {
    fs.writeFileSync(path.join(www, 'in.txt'), 'inside');
    const link = path.join(www, 'swap.txt');
    fs.symlinkSync(path.join(www, 'in.txt'), link);
    expect((await twice('/swap.txt')).body.toString()).toBe('inside');
    fs.rmSync(link);
    fs.symlinkSync(path.join(base, 'outside.txt'), link);
    const r = await get('/swap.txt');
    expect(r.status).toBe(403);
    expect(r.body.toString()).not.toContain('OUTSIDE SECRET');
  });

  it('refuses a file whose directory became a link out of the root', async () => {
    fs.writeFileSync(path.join(www, 'd', 'f.txt'), 'in d');
    expect((await twice('/d/f.txt')).body.toString()).toBe('in d');
    fs.renameSync(path.join(www, 'd'), path.join(www, 'd-old'));
    fs.symlinkSync(path.join(base, 'out'), path.join(www, 'd'));
    const r = await get('/d/f.txt');
    expect(r.status).toBe(403);
    expect(r.body.toString()).not.toContain('OUTSIDE SECRET');
  });

  it('never sends a PHP script, even once a cached name links to one', async () => {
    fs.writeFileSync(path.join(www, 'x.php'), '<?php echo "PHP SOURCE SECRET";');
    fs.writeFileSync(path.join(www, 'page.txt'), 'page');
    const link = path.join(www, 'alias.txt');
    fs.symlinkSync(path.join(www, 'page.txt'), link);
    expect((await twice('/alias.txt')).body.toString()).toBe('page');
    fs.rmSync(link);
    fs.symlinkSync(path.join(www, 'x.php'), link);
    const r = await get('/alias.txt');
    expect(r.status).toBe(403);
    expect(r.body.toString()).not.toContain('PHP SOURCE SECRET');
  });

  it('sends files above the in-memory size whole, and their changes', async () => {
    const f = path.join(www, 'big.bin');
    fs.writeFileSync(f, Buffer.alloc(100 * 1024, 'a'));
    expect((await twice('/big.bin')).body.equals(Buffer.alloc(100 * 1024, 'a'))).toBe(true);
    fs.writeFileSync(f, Buffer.alloc(100 * 1024 + 1, 'b'));
    expect((await get('/big.bin')).body.equals(Buffer.alloc(100 * 1024 + 1, 'b'))).toBe(true);
  });
});
