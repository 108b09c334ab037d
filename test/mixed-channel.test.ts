// The channel between the front and a classic-scripts process (src/server/scripts-channel.ts),
// through real HTTP: a child that writes a frame the front cannot read, and a child that dies in
// the middle of a streamed response. Each time the client gets a clear answer (502, or a cut
// connection once its head went out), never a hang; the worker and the next classic requests
// are served, by a new classic-scripts process.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from './helpers/request.js';
import { ROOT, startServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

const APP = path.join(ROOT, 'test/fixtures/mixed-app');

let server: RunningServer;
let work: string;

async function classicPid(): Promise<number> {
  const r = await request(server.port, '/server.php');
  expect(r.status).toBe(200);
  return (JSON.parse(r.body.toString()) as { pid: number }).pid;
}

beforeAll(async () => {
  work = tempDir();
  server = await startServer({
    worker: path.join(APP, 'worker.php'),
    workerMatch: 'match /api/*',
    siteBody: `root * ${APP}\n\tphp_server`,
    env: { PHPASYNC_TEST_CHANNEL: '1' },
  });
});

afterAll(async () => {
  await server?.stop();
});

describe('the channel to a classic-scripts process', () => {
  it('answers 502 when a child writes a malformed frame, replaces it, and serves the rest', async () => {
    const before = await classicPid();
    // A request in flight on the same child when its channel breaks: answered too.
    const file = path.join(work, 'broken');
    const inflight = request(server.port, `/slow.php?file=${encodeURIComponent(file)}`);
    await waitFor(() => fs.existsSync(`${file}.started`), 20_000);
    const broken = await request(server.port, '/server.php', { headers: { 'X-Request-ID': 'phpasync-test-break-channel' } });
    expect(broken.status).toBe(502);
    expect(broken.body.toString()).toContain('classic scripts process 1 ended');
    expect((await inflight).status).toBe(502);
    expect(server.logs().some((l) => l.classic === 1 && String(l.msg).includes('broke its channel'))).toBe(true);
    // The worker never noticed; the next classic request runs in a new process.
    expect((await request(server.port, '/api/after-break')).status).toBe(200);
    const after = await classicPid();
    expect(after).not.toBe(before);
  });

  it('cuts a streamed response whose child dies after its head, and serves the rest', async () => {
    const pid = await classicPid();
    const file = path.join(work, 'stream-killed');
    const outcome = await new Promise<{ text: string; how: string }>((resolve, reject) => {
      http
        .get(`${server.url}/stream.php?file=${encodeURIComponent(file)}`, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            // The head and the first part are out: the child dies now.
            if (text === 'first part;') process.kill(pid, 'SIGKILL');
          });
          res.on('aborted', () => resolve({ text, how: 'aborted' }));
          res.on('error', () => resolve({ text, how: 'error' }));
          res.on('end', () => resolve({ text, how: 'end' }));
        })
        .on('error', reject);
    });
    // Not the whole body, and not a clean end: a client can tell it was cut.
    expect(outcome.text).toBe('first part;');
    expect(outcome.how).not.toBe('end');
    expect((await request(server.port, '/api/after-kill')).status).toBe(200);
    expect(await classicPid()).not.toBe(pid);
  });
});
