// 1 MiB responses: req/s through phpasync (PHP's string lent to Node, no copy) vs Fastify
// sending a preallocated 1 MiB Buffer, back to back in one run, printed as a ratio.
//   node dist/bench/mib.js [--duration 4] [--connections 10]
// With --sizes 1024,16384,65536 it measures instead, for each body size, phpasync with every
// write() copied (PHPASYNC_COPY_THRESHOLD=2^30) vs every write() lent (threshold 0): the data
// behind the default copy threshold.
// Servers run in child processes (this file with --serve-fastify for Fastify); autocannon runs here.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '../..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '4' },
    connections: { type: 'string', default: '10' },
    sizes: { type: 'string' },
    'serve-fastify': { type: 'boolean', default: false },
  },
});

if (values['serve-fastify']) {
  const { default: Fastify } = await import('fastify');
  const body = Buffer.alloc(1 << 20, 'x');
  const app = Fastify({ logger: { level: 'info' } });
  app.get('/', async (_req, reply) => reply.type('application/octet-stream').send(body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
} else {
  await main();
}

function start(args: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
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

async function stop(s: { proc: ChildProcess }): Promise<void> {
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
}

async function measure(name: string, url: string, duration: number, connections: number): Promise<number> {
  await autocannon({ url, connections, duration: 1 }); // warm-up: JIT, OPcache, pooled fibers
  const r = await autocannon({ url, connections, duration });
  const bad = r.errors + r.non2xx;
  console.log(
    `${name.padEnd(28)} ${r.requests.average.toFixed(0).padStart(7)} req/s  ${(r.throughput.average / 1048576).toFixed(0).padStart(5)} MiB/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  errors+non2xx ${bad}`,
  );
  if (bad > 0) throw new Error(`${name}: ${bad} failed requests`);
  return r.requests.average;
}

async function main(): Promise<void> {
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  if (!(duration > 0) || !(connections > 0)) {
    console.error('usage: node dist/bench/mib.js [--duration SECONDS>0] [--connections N>0] [--sizes B,B,...]');
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-bench-'));
  const caddyfile = path.join(dir, 'Caddyfile');
  fs.writeFileSync(
    caddyfile,
    `{
	frankenphp {
		worker {
			file ${path.join(root, 'test/fixtures/php/api-mib.php')}
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
  const cli = [path.join(root, 'dist/src/cli/main.js'), 'run', '--config', caddyfile];
  try {
    if (values.sizes) {
      const sizes = values.sizes.split(',').map(Number);
      console.log(`node dist/bench/mib.js --sizes ${values.sizes} --duration ${duration} --connections ${connections}`);
      // Both servers up at once and measured back to back per size: the machine is noisy.
      const copied = await start(cli, { PHPASYNC_COPY_THRESHOLD: String(2 ** 30) });
      const lent = await start(cli, { PHPASYNC_COPY_THRESHOLD: '0' });
      for (const size of sizes) {
        const c = await measure(`copied ${size} B`, `${copied.url}/?size=${size}`, duration, connections);
        const l = await measure(`lent (zero-copy) ${size} B`, `${lent.url}/?size=${size}`, duration, connections);
        console.log(`  ${size} B: lent/copied ${(l / c).toFixed(2)}x`);
      }
      await stop(copied);
      await stop(lent);
      return;
    }
    console.log(`node dist/bench/mib.js --duration ${duration} --connections ${connections}`);
    const fastify = await start([self, '--serve-fastify']);
    const fastifyRps = await measure('fastify 1 MiB Buffer', fastify.url + '/', duration, connections);
    await stop(fastify);
    const php = await start(cli);
    const phpRps = await measure('phpasync 1 MiB write()', php.url + '/', duration, connections);
    await stop(php);
    console.log(`ratio phpasync/fastify: ${(phpRps / fastifyRps).toFixed(2)}x`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
