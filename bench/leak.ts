// Leak check over many requests (issue 6): starts `phpasync run` on a fast handler, sends
// REQUESTS (default 1,000,000) over keep-alive connections and prints PHP's heap
// (memory_get_usage) and the server's RSS every 100k requests.
//   node dist/bench/leak.js [requests] [concurrency]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const total = Number(process.argv[2] ?? 1_000_000);
const concurrency = Number(process.argv[3] ?? 16);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-leak-'));
const caddyfile = path.join(dir, 'Caddyfile');
fs.writeFileSync(
  caddyfile,
  `{
	frankenphp {
		worker {
			file ${path.join(root, 'test/fixtures/php/fault-app.php')}
			async
			match *
		}
	}
}
http://127.0.0.1:0 {
	route {
		php_server {
			index off
			file_server off
		}
	}
}
`,
);
const proc = spawn(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'run', '--config', caddyfile], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve, reject) => {
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(buf);
    if (m) resolve(Number(m[1]));
  });
  proc.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
});
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const get = (p: string): Promise<string> =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`))));
      })
      .on('error', reject);
  });
const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024;

let sent = 0;
const t0 = Date.now();
const report = async (): Promise<void> => {
  const heap = Number(await get('/heap'));
  console.log(`${sent} requests  ${((Date.now() - t0) / 1000).toFixed(1)} s  php heap ${heap} B  rss ${(rss() / 1048576).toFixed(1)} MiB`);
};
await report();
for (let next = 100_000; sent < total; next = Math.min(total, next + 100_000)) {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < next) {
        sent++;
        await get('/x');
      }
    }),
  );
  await report();
}
agent.destroy();
proc.kill('SIGTERM');
await new Promise((r) => proc.once('exit', r));
fs.rmSync(dir, { recursive: true, force: true });
