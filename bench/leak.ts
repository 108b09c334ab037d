// Leak check over many requests (issue 6): starts `phpasync run` on a fast handler, sends
// REQUESTS (default 1,000,000) over keep-alive connections and prints PHP's heap
// (memory_get_usage) and the server's RSS every 100k requests.
//   node dist/bench/leak.js [requests] [concurrency]
// The server is started as `phpasync bench` starts it (src/bench/servers).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT } from '../src/bench/paths.js';
import { startPhpasync } from '../src/bench/servers/phpasync.js';
import { KeepAliveClient, positive, rssBytes } from './measure.js';

const [total, concurrency] = positive(
  { requests: process.argv[2] ?? '1000000', concurrency: process.argv[3] ?? '16' },
  ['requests', 'concurrency'],
  'node dist/bench/leak.js [requests>0] [concurrency>0]',
) as [number, number];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-leak-'));
const server = await startPhpasync(dir, { worker: path.join(ROOT, 'test/fixtures/php/fault-app.php') });
const client = new KeepAliveClient(server.url, concurrency);
const t0 = Date.now();
const report = async (): Promise<void> => {
  const heap = Number(await client.get('/heap'));
  const rss = rssBytes(server.pid);
  console.log(`${client.sent} requests  ${((Date.now() - t0) / 1000).toFixed(1)} s  php heap ${heap} B  rss ${(rss / 1048576).toFixed(1)} MiB`);
};
try {
  await report();
  for (let next = Math.min(total, 100_000); client.sent < total; next = Math.min(total, next + 100_000)) {
    await client.sendUntil(next, '/x');
    await report();
  }
} finally {
  client.close();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
