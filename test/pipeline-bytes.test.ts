// The request envelope (src/server/envelope.ts -> php/server/envelope.c) carries the bytes the
// client sent: header bytes above 0x7f unchanged (Node's parser gives one char per byte; they
// used to reach PHP re-encoded as UTF-8), every msgpack length form (fixstr/str8/str16, a
// header list past 15 entries), and bodies of every size and byte value. Raw sockets, real PHP.
import crypto from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawConnection, startServer, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ worker: 'request-bytes.php' });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

interface Seen {
  method: string;
  uri: string;
  headers: [string, string][];
  body_len: number;
  body_md5: string;
}

const hex = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s).toString('hex');

/** Sends the head (latin1: one byte per char) and body on a fresh connection; PHP's view back. */
async function send(head: string, body: Buffer = Buffer.alloc(0)): Promise<Seen> {
  const c = rawConnection(server.port, 20_000);
  c.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  const data = await c.received;
  expect(data.slice(0, 40), data.slice(0, 400)).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  return JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4)) as Seen;
}

function header(seen: Seen, name: string): string | undefined {
  const h = seen.headers.find(([n]) => n === hex(name));
  return h?.[1];
}

describe('request envelope bytes', () => {
  it('gives PHP header bytes above 0x7f as the client sent them (UTF-8 and latin1 alike)', async () => {
    const seen = await send('GET /b HTTP/1.1\r\nHost: a\r\nX-Utf8: caf\xc3\xa9 \xe2\x82\xac\r\nX-Latin1: caf\xe9\r\nConnection: close\r\n\r\n');
    expect(header(seen, 'X-Utf8')).toBe(hex('caf\xc3\xa9 \xe2\x82\xac'));
    expect(header(seen, 'X-Latin1')).toBe(hex('caf\xe9'));
    expect(seen.method).toBe(hex('GET'));
    expect(seen.uri).toBe(hex('/b'));
  });

  it('carries headers of every length form, and more than 15 of them, in order', async () => {
    const values = ['', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(255), 'w'.repeat(256), 'v'.repeat(9000)];
    let head = 'GET /lengths?q=' + 'q'.repeat(300) + ' HTTP/1.1\r\nHost: a\r\n';
    values.forEach((v, i) => (head += `X-Len-${i}: ${v}\r\n`));
    for (let i = 0; i < 12; i++) head += `X-Many-${i}: ${i}\r\n`;
    const seen = await send(head + 'Connection: close\r\n\r\n');
    values.forEach((v, i) => expect(header(seen, `X-Len-${i}`), `X-Len-${i}`).toBe(hex(v)));
    expect(seen.uri).toBe(hex('/lengths?q=' + 'q'.repeat(300)));
    expect(seen.headers.map(([n]) => Buffer.from(n, 'hex').toString('latin1'))).toEqual([
      'Host',
      ...values.map((_, i) => `X-Len-${i}`),
      ...Array.from({ length: 12 }, (_, i) => `X-Many-${i}`),
      'Connection',
    ]);
  });

  it('carries bodies of every byte value and size intact', async () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const body of [Buffer.alloc(0), every, Buffer.concat(Array.from({ length: 300 }, () => every)), crypto.randomBytes(3 << 20)]) {
      const seen = await send(`POST /body HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, body);
      expect(seen.body_len).toBe(body.length);
      expect(seen.body_md5).toBe(crypto.createHash('md5').update(body).digest('hex'));
    }
  });
});
