// Request lines and heads Node's parser lets through, answered as Go's net/http (so Caddy)
// answers them, through raw sockets: version, duplicate Host, absolute-form targets,
// percent-encoded bytes that are not UTF-8, and Expect: 100-continue over the body limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawConnection, startServer, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ worker: 'http-framing.php', siteExtra: 'request_body {\n\t\tmax_size 10\n\t}' });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

async function raw(bytes: string): Promise<string> {
  const c = rawConnection(server.port);
  c.socket.write(bytes, 'latin1');
  return c.received;
}

/** The JSON the fixture's echo route answered, from a single whole response. */
function echoed(data: string): Record<string, string> {
  expect(data, data).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  return JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
}

const close = 'Connection: close\r\n';

describe('request line', () => {
  it('answers HTTP/2.0 on an HTTP/1 connection 505', async () => {
    const data = await raw(`GET /v HTTP/2.0\r\nHost: a\r\n${close}\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
  });

  it('answers an HTTP/0.9 request line 400', async () => {
    const data = await raw(`GET /v\r\n\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it('answers two Host headers 400, and never lets PHP see them joined', async () => {
    const data = await raw(`GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n${close}\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(data).toContain('more than one Host header');
  });

  it('gives PHP the path and query of an absolute-form target, and its authority as the host', async () => {
    const e = echoed(await raw(`GET http://other.example:8080/p?q=1 HTTP/1.1\r\nHost: a\r\n${close}\r\n`));
    expect(e).toMatchObject({ uri: '/p?q=1', host: 'other.example:8080' });
    const bare = echoed(await raw(`GET http://other.example HTTP/1.1\r\nHost: a\r\n${close}\r\n`));
    expect(bare).toMatchObject({ uri: '/', host: 'other.example' });
  });

  it('passes percent-encoded bytes that are not UTF-8 to PHP as sent', async () => {
    const e = echoed(await raw(`GET /caf%E9?x=%E9 HTTP/1.1\r\nHost: a\r\n${close}\r\n`));
    expect(e).toMatchObject({ uri: '/caf%E9?x=%E9' });
    expect(echoed(await raw(`GET /ok?x=%E9 HTTP/1.1\r\nHost: a\r\n${close}\r\n`))).toMatchObject({ uri: '/ok?x=%E9' });
    // and valid escapes are untouched
    expect(echoed(await raw(`GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\n${close}\r\n`))).toMatchObject({ uri: '/caf%C3%A9' });
  });

  it('answers a malformed percent-escape in the path 400, as Go does', async () => {
    const data = await raw(`GET /a%zz HTTP/1.1\r\nHost: a\r\n${close}\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(data).toContain('malformed percent-escape');
  });
});

describe('Expect: 100-continue', () => {
  it('answers a declared body over the limit 413 without sending 100 Continue', async () => {
    const data = await raw(`POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 413 /);
    expect(data).not.toContain('100 Continue');
  });

  it('sends 100 Continue for a body within the limit, and PHP gets the body', async () => {
    const c = rawConnection(server.port);
    c.socket.write(`POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n${close}\r\n`);
    const cont = await new Promise<string>((resolve) => c.socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    expect(cont).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    c.socket.write('hello');
    expect(echoed((await c.received).slice(cont.length))).toMatchObject({ method: 'POST', body: 'hello' });
  });
});
