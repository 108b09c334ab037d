// The park/wake handshake: bursts separated by idle gaps (so the PHP thread parks between
// them) must all be answered. A lost wake-up shows up as a request that never completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bursts(server: RunningServer): Promise<void> {
  let sent = 0;
  let expected = 0;
  for (let round = 0; round < 40; round++) {
    const size = 1 + (round % 7) * 3; // 1..19: always fits in the ring of 20
    expected += size;
    const answers = await Promise.all(
      Array.from({ length: size }, async (_, i) => {
        const ctl = AbortSignal.timeout(5000); // a lost wake-up would hang here
        const res = await fetch(`${server.url}/b${round}-${i}`, { signal: ctl });
        return res.text();
      }),
    );
    answers.forEach((a, i) => expect(a).toBe(`hello /b${round}-${i}`));
    sent += size;
    // Idle gaps of 0..6 ms: the thread parks in some, races the next push in others.
    await sleep(round % 7);
  }
  expect(sent).toBe(expected);
}

describe.each([
  ['eventfd', {}],
  ['pipe', { PHPASYNC_FORCE_PIPE: '1' }],
])('no lost wake-up (%s notifier)', (_name, env) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'hello.php', env });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers every request of 40 bursts separated by idle gaps', async () => {
    await bursts(server);
  });

  it('wakes a thread parked for a long time', async () => {
    await sleep(300);
    const res = await fetch(`${server.url}/late`, { signal: AbortSignal.timeout(5000) });
    expect(await res.text()).toBe('hello /late');
  });
});
