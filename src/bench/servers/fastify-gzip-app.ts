// The reference of the php-gzip-50k scenario: Fastify with @fastify/compress answering the same
// ~50 KiB JSON document as src/bench/php/gzip-json.php, serialized on every request and
// gzip-encoded by the plugin (zlib's default level, as phpasync's `encode gzip`).

import compress from '@fastify/compress';
import Fastify from 'fastify';

const items = Array.from({ length: 600 }, (_, i) => ({ id: i, name: `user-${i}`, email: `user-${i}@example.com`, active: i % 2 === 0, score: (i * 7) % 100 }));

const app = Fastify({ logger: false });
await app.register(compress, { encodings: ['gzip'], global: true });
app.get('/json-50k', async (_req, reply) => reply.type('application/json').send(JSON.stringify({ items })));

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`Server listening at ${address}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
