// ignore_user_abort() in the classic worker loop: a client that leaves stops the callback (as
// in an async worker) unless the callback called ignore_user_abort(true); then it runs to its
// end and connection_aborted() says the client went away, whether the abort came while it
// was suspended (usleep) or running. Real server, real sockets; the callback's side effect (a
// file it writes after the abort) is the proof. A classic thread serves one request at a
// time, so the next request's answer comes only after the aborted callback is over.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, startServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

const LOOP = path.join(ROOT, 'test/fixtures/classic-loop/public');

describe('classic worker loop: client aborts and ignore_user_abort()', () => {
  let server: RunningServer;
  const markers = tempDir();
  beforeAll(async () => {
    server = await startServer({
      worker: path.join(LOOP, 'index.php'),
      async: false,
      workerExtra: `env MARKERS ${markers}\n\t\t\trequest_timeout 20s`,
      siteBody: `root * ${LOOP}\n\tphp_server`,
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Starts `target`, waits until its callback runs, then the client leaves. Resolves with
   * what the next request says: it is answered once the aborted callback is over. */
  async function abortThenNext(target: string, tag: string): Promise<Record<string, unknown>> {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    await waitFor(() => fs.existsSync(path.join(markers, `started-${tag}`)), 10_000);
    socket.destroy();
    const next = await fetch(`${server.url}/abort-state`);
    return (await next.json()) as Record<string, unknown>;
  }

  const done = (tag: string): Record<string, unknown> | undefined => {
    const f = path.join(markers, `done-${tag}`);
    return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>) : undefined;
  };

  it('runs a suspended callback with ignore_user_abort(true) to its end; connection_aborted() is true', async () => {
    const next = await abortThenNext('/abort?ignore=1&tag=sleeping', 'sleeping');
    expect(done('sleeping')).toEqual({ aborted: 1, status: 1, ignore: 1 });
    // The next request starts clean: no abort, and ignore_user_abort back to php.ini's.
    expect(next).toEqual({ aborted: 0, ignore: 0 });
  });

  it('runs a running callback with ignore_user_abort(true) to its end too', async () => {
    const next = await abortThenNext('/abort?ignore=1&cpu=1&tag=running', 'running');
    expect(done('running')).toEqual({ aborted: 1, status: 1, ignore: 1 });
    expect(next).toEqual({ aborted: 0, ignore: 0 });
  });

  it('lets a streaming callback under ignore_user_abort(true) go on when its client leaves mid-stream', async () => {
    const next = await abortThenNext('/abort-stream?tag=streaming', 'streaming');
    expect(done('streaming')).toEqual({ aborted: 1, error: null });
    expect(next).toEqual({ aborted: 0, ignore: 0 });
  });

  it('stops a callback without ignore_user_abort when its client leaves (suspended or running)', async () => {
    await abortThenNext('/abort?tag=stopped', 'stopped');
    await abortThenNext('/abort?cpu=1&tag=stopped-cpu', 'stopped-cpu');
    expect(done('stopped')).toBeUndefined();
    expect(done('stopped-cpu')).toBeUndefined();
  });

  it('logs no error for the aborts, and the server goes on serving', async () => {
    const r = await fetch(`${server.url}/abort-state`);
    expect(r.status).toBe(200);
    expect(server.logs().filter((l) => typeof l.level === 'number' && l.level >= 50)).toEqual([]);
  });
});
