// Logs of a server running several processes: every line of a child, its own and PHP's
// (error_log, warnings), carries its child id, kept across a restart; the supervisor's carry
// `supervisor: true`.
import { afterEach, describe, expect, it } from 'vitest';

import { startServer, waitFor, type RunningServer } from './helpers/server.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.stop('SIGKILL');
  server = undefined;
});

const WORKER = `<?php
error_log('booting ' . getmypid());
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    error_log('serving ' . getmypid());
    trigger_error('warned ' . getmypid(), E_USER_WARNING);
    $res->write((string) getmypid());
    $res->end();
});`;

async function pidOf(url: string): Promise<string> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('logs with several processes', () => {
  it('every line names its child (or the supervisor), PHP\'s lines too, across a restart', async () => {
    server = await startServer({ workerSource: WORKER, num: 2 });
    const pids = new Set<string>();
    for (let i = 0; i < 4; i++) pids.add(await pidOf(server.url + '/'));
    expect(pids.size).toBe(2);
    const [victim] = pids;
    const childOf = (pid: string): unknown => server!.logs().find((l) => l['msg'] === `booting ${pid}`)?.['child'];
    const victimId = childOf(victim!);
    process.kill(Number(victim), 'SIGKILL');
    await waitFor(() => server!.logs().some((l) => String(l['msg']).endsWith('is serving again')), 10_000);
    for (let i = 0; i < 4; i++) pids.add(await pidOf(server.url + '/'));
    expect(pids.size).toBe(3); // the restarted child served too
    await server.stop();

    const supervisorPid = server.proc.pid;
    const idOf = new Map<number, unknown>(); // pid → child id
    for (const line of server.output) {
      const l = JSON.parse(line) as Record<string, unknown>; // every line is a JSON log line
      if (l['pid'] === supervisorPid) {
        expect(l['supervisor'], line).toBe(true);
        continue;
      }
      expect([1, 2], line).toContain(l['child']);
      if (!idOf.has(l['pid'] as number)) idOf.set(l['pid'] as number, l['child']);
      expect(l['child'], line).toBe(idOf.get(l['pid'] as number)); // one id per process
    }
    expect(idOf.size).toBe(3);
    for (const pid of pids) {
      for (const what of ['booting', 'serving', 'PHP Warning:  warned']) {
        const l = server.logs().find((x) => String(x['msg']).startsWith(`${what} ${pid}`));
        expect(l, `${what} ${pid}`).toBeDefined();
        expect(l!['child']).toBe(idOf.get(Number(pid)));
      }
    }
    // The restarted child kept the id of the one it replaced.
    const restarted = [...pids].find((p) => p !== victim && childOf(p) === victimId);
    expect(restarted).toBeDefined();
  });
});
