// multipart/form-data over real HTTP: one warning per body for dropped fields, the
// max_multipart_body_parts cap (413), filename*= (RFC 6266), move_uploaded_file() on
// UploadedFile::getTmpName() and its files invisible to other requests of the thread.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { expectNoOutstanding, request } from './api-helpers.js';
import { startApiServer } from './api-helpers.js';
import { tempDir, waitFor, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  // 5 vars + 20 files = 25 parts by default (-1); the cap test sets it per server below.
  server = await startApiServer({ worker: 'uploads-multipart.php', globalExtra: 'php_ini max_input_vars 5' });
});
afterEach(async () => {
  await expectNoOutstanding(server);
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

const B = 'bOuNdArY42';
function body(parts: string[]): Buffer {
  return Buffer.from(parts.map((p) => `--${B}\r\n${p}\r\n`).join('') + `--${B}--\r\n`);
}
const field = (name: string, v: string): string => `Content-Disposition: form-data; name="${name}"\r\n\r\n${v}`;
const post = (s: RunningServer, p: string, parts: string[]) =>
  request(s, { method: 'POST', path: p, headers: { 'content-type': `multipart/form-data; boundary=${B}` }, body: body(parts) });
const linesWith = (s: RunningServer, text: string): string[] => s.output.filter((l) => l.includes(text));

describe('multipart limits', () => {
  it('logs one line for fields over max_input_vars, not one per field', async () => {
    const before = linesWith(server, 'Input variables exceeded').length;
    const parts = Array.from({ length: 20 }, (_, i) => field(`f${i}`, 'v'));
    const r = await post(server, '/fields', parts);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ count: 5 });
    await waitFor(() => linesWith(server, 'Input variables exceeded').length > before);
    // A marker request whose log line comes after any late line of the first.
    await request(server, { path: '/fields' });
    expect(linesWith(server, 'Input variables exceeded').length - before).toBe(1);
  });

  it('refuses a body over max_multipart_body_parts with 413 and one log line', async () => {
    const s = await startApiServer({
      worker: 'uploads-multipart.php',
      globalExtra: 'php_ini max_multipart_body_parts 10',
    });
    try {
      const ok = await post(s, '/fields', Array.from({ length: 10 }, (_, i) => field(`f${i}`, 'v')));
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body.toString())).toEqual({ count: 10 });
      const r = await post(s, '/fields', Array.from({ length: 300 }, (_, i) => field(`f${i}`, 'v')));
      expect(r.status).toBe(413);
      await waitFor(() => linesWith(s, 'max_multipart_body_parts').length > 0);
      // Another request still works, and the refusal stayed one line.
      const after = await post(s, '/fields', [field('a', '1')]);
      expect(JSON.parse(after.body.toString())).toEqual({ count: 1 });
      expect(linesWith(s, 'max_multipart_body_parts')).toHaveLength(1);
      expect(linesWith(s, 'max_multipart_body_parts')[0]).toContain('413');
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});

describe('Content-Disposition', () => {
  it("honours filename*=UTF-8'' over filename (RFC 6266), and ISO-8859-1", async () => {
    const file = (name: string, disp: string): string =>
      `Content-Disposition: form-data; name="${name}"; ${disp}\r\nContent-Type: text/plain\r\n\r\nx`;
    const r = await post(server, '/names', [
      file('a', `filename="fallback.txt"; filename*=UTF-8''caf%C3%A9%20%E2%82%AC.txt`),
      file('b', `filename*=utf-8'en'na%C3%AFve.txt; filename="naive.txt"`),
      file('c', `filename*=ISO-8859-1''caf%E9.txt`),
      file('d', `filename="plain.txt"; filename*=KOI8-R''x.txt`), // unknown charset: plain one
      file('e', `filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`), // decoded, then reduced to its basename
      file('f', `filename*=UTF-8''a%00b.txt; filename="nul.txt"`), // an encoded NUL: the plain one
      file('g', `filename*=UTF-8''bad%E`), // a cut escape and no plain one: a field, as PHP does
    ]);
    expect(JSON.parse(r.body.toString())).toEqual({
      a: 'café €.txt',
      b: 'naïve.txt',
      c: 'café.txt',
      d: 'plain.txt',
      e: 'passwd',
      f: 'nul.txt',
    });
  });
});

describe('move_uploaded_file()', () => {
  const upload = (name: string, content: string): string =>
    `Content-Disposition: form-data; name="${name}"; filename="u.txt"\r\nContent-Type: text/plain\r\n\r\n${content}`;

  it('moves the file behind getTmpName(), once', async () => {
    const dir = tempDir();
    const to = path.join(dir, 'dest.txt');
    const r = await post(server, `/move?to=${encodeURIComponent(to)}`, [upload('file', 'hello upload')]);
    expect(JSON.parse(r.body.toString())).toEqual({
      is_uploaded: true,
      moved: true,
      tmp_exists: false,
      content: 'hello upload',
      again: false,
      moveTo: 'Cannot move "u.txt": move_uploaded_file() moved it already',
    });
    expect(fs.readFileSync(to, 'utf8')).toBe('hello upload');
  });

  it('moves it from a coroutine the handler spawned', async () => {
    const to = path.join(tempDir(), 'spawned.txt');
    const r = await post(server, `/move-spawned?to=${encodeURIComponent(to)}`, [upload('file', 'from a task')]);
    expect(JSON.parse(r.body.toString())).toEqual({ moved: true, content: 'from a task' });
  });

  it("never accepts another request's temp file, even on the same thread", async () => {
    const dir = tempDir();
    const to = path.join(dir, 'stolen.txt');
    const hold = post(server, '/hold', [upload('file', 'mine')]);
    const steal = request(server, { path: `/steal?to=${encodeURIComponent(to)}` });
    const [h, s] = await Promise.all([hold, steal]);
    expect(JSON.parse(s.body.toString())).toEqual({ seen: true, is_uploaded: false, moved: false });
    const held = JSON.parse(h.body.toString()) as { seen: boolean; still_mine: boolean; tmp: string };
    expect(held).toMatchObject({ seen: true, still_mine: true });
    expect(fs.existsSync(to)).toBe(false);
    // Not moved: gone with its request, and no later request of the thread can claim it.
    await waitFor(() => !fs.existsSync(held.tmp));
    const late = await request(server, { path: `/claim?path=${encodeURIComponent(held.tmp)}&to=${encodeURIComponent(to)}` });
    expect(JSON.parse(late.body.toString())).toEqual({ is_uploaded: false, moved: false });
  });
});
