// HTTP/1 framing and request lines through real sockets: framing headers an application sets
// never reach the wire as given (no desync of the next response on the connection), 204/304
// carry no body, every method Node's parser knows reaches PHP, CONNECT gets an answer.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawConnection, startServer, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ worker: 'http-framing.php' });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

interface Parsed {
  status: number;
  headers: [string, string][];
  body: string;
}

/** Splits what the server sent into responses, framing each as a client would (HEAD, 1xx,
 * 204 and 304 have no body; else Transfer-Encoding: chunked, else Content-Length, else close). */
function parseResponses(data: string, noBody: (i: number) => boolean = () => false): { responses: Parsed[]; rest: string } {
  const responses: Parsed[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = data.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1] ?? NaN);
    const headers = lines.slice(1).map((l): [string, string] => {
      const c = l.indexOf(':');
      return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()];
    });
    const get = (n: string): string | undefined => headers.find(([k]) => k === n)?.[1];
    at = end + 4;
    let body = '';
    if (status >= 100 && status < 200) {
      // an interim response: its final one follows
    } else if (noBody(responses.length) || status === 204 || status === 304) {
      // nothing
    } else if (get('transfer-encoding') === 'chunked') {
      for (;;) {
        const eol = data.indexOf('\r\n', at);
        const n = parseInt(data.slice(at, eol), 16);
        at = eol + 2;
        if (n === 0) {
          at = data.indexOf('\r\n', at) + 2;
          break;
        }
        body += data.slice(at, at + n);
        at += n + 2;
      }
    } else if (get('content-length') !== undefined) {
      const n = Number(get('content-length'));
      body = data.slice(at, at + n);
      at += n;
    } else {
      body = data.slice(at);
      at = data.length;
    }
    responses.push({ status, headers, body });
  }
  return { responses, rest: data.slice(at) };
}

/** Sends raw bytes on one connection and returns everything the server sent until it closed. */
async function raw(bytes: string): Promise<string> {
  const c = rawConnection(server.port);
  c.socket.write(bytes, 'latin1');
  return c.received;
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
const last = `GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`;
const header = (r: Parsed, n: string): string[] => r.headers.filter(([k]) => k === n).map(([, v]) => v);

describe('framing headers set by the application', () => {
  for (const [path, body] of [
    ['/cl-short', 'hello world'],
    ['/cl-long', 'hello'],
    ['/cl-abc', 'hello'],
    ['/te', 'hello'],
    ['/te-header', 'hello'],
  ] as const) {
    it(`${path}: the body is framed by what is sent, and the next response on the connection is intact`, async () => {
      const { responses, rest } = parseResponses(await raw(get(path) + last));
      expect(rest).toBe('');
      expect(responses.map((r) => r.status)).toEqual([200, 200]);
      const [first, second] = responses as [Parsed, Parsed];
      expect(first.body).toBe(body);
      expect(header(first, 'content-length')).toEqual([String(body.length)]);
      expect(header(first, 'transfer-encoding')).toEqual([]);
      expect(JSON.parse(second.body)).toMatchObject({ method: 'GET', uri: '/echo' });
    });
  }

  it('a streamed response drops the application Content-Length and is chunked', async () => {
    const { responses, rest } = parseResponses(await raw(get('/stream-cl') + last));
    expect(rest).toBe('');
    const [first, second] = responses as [Parsed, Parsed];
    expect(first.body).toBe('abcdefghi');
    expect(header(first, 'content-length')).toEqual([]);
    expect(header(first, 'transfer-encoding')).toEqual(['chunked']);
    expect(JSON.parse(second.body)).toMatchObject({ uri: '/echo' });
  });

  for (const status of [204, 304]) {
    it(`${status} carries neither Content-Length nor body`, async () => {
      const data = await raw(get(`/status?s=${status}`) + last);
      const { responses, rest } = parseResponses(data);
      expect(rest).toBe('');
      const [first, second] = responses as [Parsed, Parsed];
      expect(first.status).toBe(status);
      expect(header(first, 'content-length')).toEqual([]);
      expect(header(first, 'transfer-encoding')).toEqual([]);
      expect(data.slice(0, data.indexOf('HTTP/1.1 200'))).not.toContain('body');
      expect(JSON.parse(second.body)).toMatchObject({ uri: '/echo' });
    });
  }

  it('a 204 head Node refuses is answered 500 with its text, and the connection stays in step', async () => {
    const { responses, rest } = parseResponses(await raw(get('/no-body-trailer') + last));
    expect(rest).toBe('');
    const [first] = responses as [Parsed];
    expect(first.status).toBe(500);
    expect(first.body).toBe('Internal Server Error\n');
  });

  it('HEAD keeps the Content-Length of the GET it stands for, and sends no body', async () => {
    const data = await raw(`HEAD /cl-long HTTP/1.1\r\nHost: t\r\n\r\n` + last);
    const { responses, rest } = parseResponses(data, (i) => i === 0);
    expect(rest).toBe('');
    const [first, second] = responses as [Parsed, Parsed];
    expect(header(first, 'content-length')).toEqual(['100']);
    expect(JSON.parse(second.body)).toMatchObject({ uri: '/echo' });
  });
});

describe('methods', () => {
  // Every method Node 20's parser (llhttp) accepts, except CONNECT (below). With a
  // Content-Type: Fastify refuses a QUERY body without one, as RFC 10008 §2 asks.
  const methods = http.METHODS.filter((m) => m !== 'CONNECT' && m !== 'HEAD');
  it.each(methods)('%s reaches PHP', async (method) => {
    const data = await raw(`${method} /m?x=1 HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`);
    const { responses } = parseResponses(data);
    expect(responses[0]?.status, data).toBe(200);
    expect(JSON.parse(responses[0]!.body)).toEqual({ method, uri: '/m?x=1', host: 't', body: 'abc' });
  });

  it('a method token Node does not know is refused by its parser with 400, not dropped', async () => {
    // llhttp has a fixed method list: Node answers 400 before any JS sees the request.
    const data = await raw(`FOO /m HTTP/1.1\r\nHost: t\r\n\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('CONNECT gets a clear answer, and the server keeps serving', async () => {
    const data = await raw(`CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 501 Not Implemented\r\n/);
    expect(data).toContain('not supported yet: CONNECT');
    const { responses } = parseResponses(await raw(last));
    expect(JSON.parse(responses[0]!.body)).toMatchObject({ uri: '/echo' });
  });
});
