// PHP's session state is one per thread, and the requests of a thread run concurrently: until
// sessions are per request, session_start(), session_id($id) and session_regenerate_id() are
// refused in async workers with a "not supported yet" Error, so no user ever gets another's.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { startServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

async function getJson(srv: RunningServer, query: string, cookie?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${srv.url}/?${query}`, { headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const REFUSED = 'in an async worker: PHP sessions are per thread';

describe('sessions in async handlers', () => {
  it("two concurrent users: both are refused with a clear Error, neither sees the other's session", async () => {
    const srv = await startServer({ worker: 'session.php' });
    try {
      const release = path.join(tempDir(), 'release');
      // Alice's request keeps her session open until Bob's has been answered.
      const alice = getJson(srv, `user=alice&hold=${encodeURIComponent(release)}`, 'PHPSESSID=aliceaaaaaaaaaaaaaaaaaaaaa');
      const bob = await getJson(srv, 'user=bob', 'PHPSESSID=bobbbbbbbbbbbbbbbbbbbbbbbb');
      fs.writeFileSync(release, '');
      const a = await alice;

      for (const r of [a, bob]) {
        expect(r.status).toBe(500);
        expect(String(r.body['error'])).toContain(`not supported yet: session_start() ${REFUSED}`);
        expect(r.body['sid']).toBeUndefined();
      }
      expect(JSON.stringify(bob.body)).not.toContain('alice');

      // Nothing is left open for the next request, whoever sends it.
      const next = await getJson(srv, '');
      expect(next.body).toEqual({ status: 1 /* PHP_SESSION_NONE */, sid: '', session: null });
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('a request that leaves its session open puts no later request in it', async () => {
    const srv = await startServer({ worker: 'session.php' });
    try {
      const first = await getJson(srv, 'user=carol&leave_open=1');
      expect(first.status).toBe(500);
      expect(String(first.body['error'])).toContain('not supported yet: session_start()');
      const later = await getJson(srv, '');
      expect(later.body).toEqual({ status: 1, sid: '', session: null });
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('session_id($id) and session_regenerate_id() are refused too; the id is not shared', async () => {
    const srv = await startServer({ worker: 'session.php' });
    try {
      const set = await getJson(srv, 'set_id=daveddddddddddddddddddddddd');
      expect(set.status).toBe(500);
      expect(String(set.body['error'])).toContain(`not supported yet: session_id($id) ${REFUSED}`);
      const regen = await getJson(srv, 'regenerate=1');
      expect(regen.status).toBe(500);
      expect(String(regen.body['error'])).toContain(`not supported yet: session_regenerate_id() ${REFUSED}`);
      const later = await getJson(srv, '');
      expect(later.body['sid']).toBe('');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('session.auto_start: the session opened at thread start is closed, with a log line', async () => {
    const srv = await startServer({ worker: 'session.php', globalExtra: 'php_ini session.auto_start 1' });
    try {
      await waitFor(() => srv.output.some((l) => l.includes('not supported yet: session.auto_start')));
      const later = await getJson(srv, '');
      expect(later.body).toEqual({ status: 1, sid: '', session: null });
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});
