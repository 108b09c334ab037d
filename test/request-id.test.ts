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
