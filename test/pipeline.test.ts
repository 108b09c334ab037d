// The request path end to end: Fastify -> ring -> PHP coroutine -> response, over real HTTP.
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, startServer, waitFor, type RunningServer } from './helpers/server.js';

/** A raw request with node:http, so header names, repeats and bodies are exactly ours. */
function request(
  url: string,
  opts: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders | string[]; body?: Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      { host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('the guide example (examples/async_entrypoint.php)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: path.join(ROOT, 'examples/async_entrypoint.php') });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers / with the JSON hello', async () => {
    const res = await fetch(server.url + '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { message: string; timestamp: string };
    expect(body.message).toBe('Hello from TrueAsync!');
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('answers anything else with a JSON 404 naming the uri', async () => {
    const res = await fetch(server.url + '/missing/page?x=1');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Not Found', uri: '/missing/page?x=1' });
  });
});

describe('request and response round trip', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'echo.php' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('passes method, uri as sent, headers and body through', async () => {
    const body = Buffer.from([0, 1, 2, 255, 0, 10, 13, 0]);
    const res = await request(server.url, {
      method: 'PUT',
      path: '/a/b%20c?q=1&q=2&e=%26+x',
      headers: ['Host', `127.0.0.1:${server.port}`, 'X-Multi', 'one', 'x-multi', 'two', 'Content-Type', 'application/octet-stream', 'X-Empty', '', 'Content-Length', String(body.length)],
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-handled-by']).toBe('phpasync');
    const j = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(j.method).toBe('PUT');
    expect(j.uri).toBe('/a/b%20c?q=1&q=2&e=%26+x');
    const headers = j.headers as Record<string, string>;
    expect(headers['X-Multi']).toBe('one, two'); // first spelling kept, repeats joined
    expect(headers['Content-Type']).toBe('application/octet-stream');
    expect(headers['X-Empty']).toBe('');
    expect(headers['Host']).toBe(`127.0.0.1:${server.port}`);
    expect(j.header_x_multi).toBe('one, two'); // case-insensitive lookup
    expect(j.missing).toBeNull();
    expect(Buffer.from(j.body_b64 as string, 'base64').equals(body)).toBe(true);
    expect(j.body_same).toBe(true);
  });

  it('gives an empty body for GET and sets the status the handler chose', async () => {
    const res = await request(server.url, { path: '/x', headers: { 'x-status': '201' } });
    expect(res.status).toBe(201);
    const j = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(j.method).toBe('GET');
    expect(j.body_b64).toBe('');
  });

  it('serves every method Fastify routes, HEAD without a body', async () => {
    for (const method of ['POST', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await request(server.url, {
        method,
        path: '/m',
        body: Buffer.from('x'),
        headers: { 'content-type': 'text/plain', 'content-length': '1' },
      });
      expect(JSON.parse(res.body.toString()).method).toBe(method);
    }
    const head = await request(server.url, { method: 'HEAD', path: '/h' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });
});

describe('output, handler mistakes and exit', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'output.php' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('sends echo/print output as body, in order with write()', async () => {
    const res = await fetch(server.url + '/');
    expect(await res.text()).toBe('echoed printed written');
  });

  it('logs output from outside a request instead of losing it', () => {
    expect(server.logs().some((l) => String(l.msg).includes('worker file says hi'))).toBe(true);
  });

  it('ends the response for a handler that returns without end()', async () => {
    const res = await fetch(server.url + '/no-end');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('echoed printed written');
  });

  it('answers 500 for an uncaught exception, logs it, and keeps serving', async () => {
    const res = await fetch(server.url + '/throw');
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('Internal Server Error\n');
    const line = await waitFor(() => server.logs().find((l) => String(l.msg).includes('handler blew up')));
    expect(line?.msg).toMatch(/Uncaught RuntimeException: handler blew up in .*output\.php:\d+/);
    expect(line?.reqId).toBeDefined();
    expect(await (await fetch(server.url + '/')).text()).toBe('echoed printed written');
  });

  it('ends the request with what it wrote on exit(), and keeps serving', async () => {
    const res = await fetch(server.url + '/exit');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('echoed printed written');
    expect(await (await fetch(server.url + '/')).text()).toBe('echoed printed written');
  });

  it('does not let an unclosed ob_start() swallow later output', async () => {
    const res = await fetch(server.url + '/ob');
    expect(await res.text()).toBe('echoed printed written buffered');
    expect(await (await fetch(server.url + '/')).text()).toBe('echoed printed written');
  });
});
