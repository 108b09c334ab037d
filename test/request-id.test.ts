// X-Request-ID: a client's id names the request in the logs and comes back on the response;
// without one (or with one that is not a short token) the server makes its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, waitFor, type RunningServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ worker: 'fault-app.php' });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe('X-Request-ID', () => {
  it('uses the id the client sent in the log lines and echoes it on PHP responses', async () => {
    const res = await fetch(`${server.url}/throw`, { headers: { 'X-Request-ID': 'edge-42.abc' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('edge-42.abc');
    const line = await waitFor(() => server.logs().find((l) => /^Uncaught BoomException/.test(String(l.msg))));
    expect(line.reqId).toBe('edge-42.abc');
  });

  it('makes its own id when none is sent, one per request', async () => {
    const a = (await fetch(`${server.url}/after-throw`)).headers.get('x-request-id');
    const b = (await fetch(`${server.url}/after-throw`)).headers.get('x-request-id');
    expect(a).toMatch(/^req-/);
    expect(b).toMatch(/^req-/);
    expect(a).not.toBe(b);
  });

  it('replaces an id that is not a short token (log forging, control bytes, length)', async () => {
    for (const bad of ['x'.repeat(129), 'a b', '{"level":60}', 'id\u00e9']) {
      const res = await fetch(`${server.url}/after-throw`, { headers: { 'X-Request-ID': bad } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toMatch(/^req-/);
    }
  });
});

// The echo is not an onRequest hook (it would run for every request, PHP's too): answers
// Fastify sends get it in onSend, PHP's heads where the hook headers join them.
describe('X-Request-ID on every kind of answer', () => {
  let site: RunningServer;
  beforeAll(async () => {
    site = await startServer({
      workerSource: `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    if ($req->getUri() === '/own') $res->setHeader('X-Request-ID', 'from-php');
    $res->write('php');
    $res->end();
});
`,
      siteBody: `respond /health "ok" 200
	redir /old /new 301
	php_server {
		file_server off
	}`,
    });
  });
  afterAll(async () => {
    expect(await site.stop()).toBe(0);
  });

  it('echoes the id once on answers Fastify sends (respond, redir) and on PHP answers', async () => {
    for (const p of ['/health', '/old', '/php']) {
      const sent = await fetch(`${site.url}${p}`, { headers: { 'X-Request-ID': 'kind-1' }, redirect: 'manual' });
      expect(sent.headers.get('x-request-id')).toBe('kind-1');
      const own = await fetch(`${site.url}${p}`, { redirect: 'manual' });
      expect(own.headers.get('x-request-id')).toMatch(/^req-[0-9a-z]+$/);
    }
  });

  it("keeps PHP's own X-Request-ID rather than adding a second one", async () => {
    const res = await fetch(`${site.url}/own`, { headers: { 'X-Request-ID': 'kind-2' } });
    expect(res.headers.get('x-request-id')).toBe('from-php');
    expect(await res.text()).toBe('php');
  });
});
