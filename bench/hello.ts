// Hello-world req/s through phpasync vs plain Fastify, same client, same run, as a ratio.
//   node dist/bench/hello.js [--duration 10] [--connections 50]
// Both servers run in child processes; autocannon runs here. The machine is noisy: only the
// ratio, measured back to back in one run, means anything.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
if (!(duration > 0) || !(connections > 0)) {
  console.error('usage: node dist/bench/hello.js [--duration SECONDS>0] [--connections N>0]');
  process.exit(2);
}

function start(args: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(buf);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${buf}`)));
  });
}

async function measure(name: string, url: string): Promise<number> {
  // A short warm-up (JIT, OPcache, pooled fibers), then the measured run.
  await autocannon({ url, connections, duration: 1 });
  const r = await autocannon({ url, connections, duration });
  const bad = r.errors + r.non2xx;
  console.log(
    `${name.padEnd(16)} ${r.requests.average.toFixed(0).padStart(8)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  errors+non2xx ${bad}`,
  );
  return r.requests.average;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
const caddyfile = path.join(dir, 'Caddyfile');
fs.writeFileSync(
  caddyfile,
  `{
	frankenphp {
		worker {
			file ${path.join(root, 'test/fixtures/php/hello.php')}
			async
			buffer_size 1000
			match *
		}
	}
}
http://127.0.0.1:0 {
	php_server
}
`,
);

console.log(`node dist/bench/hello.js --duration ${duration} --connections ${connections}`);
const fastify = await start([path.join(root, 'dist/bench/fastify-hello.js')]);
const fastifyRps = await measure('fastify-hello', fastify.url + '/');
fastify.proc.kill('SIGTERM');
const php = await start([path.join(root, 'dist/src/cli/main.js'), 'run', '--config', caddyfile]);
const phpRps = await measure('phpasync-hello', php.url + '/');
php.proc.kill('SIGTERM');
console.log(`ratio phpasync/fastify: ${(phpRps / fastifyRps).toFixed(2)}x`);
fs.rmSync(dir, { recursive: true, force: true });
