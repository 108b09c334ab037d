// The reference server of `phpasync bench`: a plain Fastify app in a process of its own, so
// it has the same layout as phpasync (server in a child, load generator in the bench process).
// It prints the same "Server listening at" line as phpasync, so one parser finds both ports.

import { setTimeout as sleep } from 'node:timers/promises';

import Fastify from 'fastify';

const MIB = Buffer.alloc(1 << 20, 'x'); // allocated once, as the PHP app builds its string once

const app = Fastify({ logger: false });
app.get('/hello', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('hello world'));
// The same wait as the PHP app's /delay (Async\delay(10)): what Node's own timers reach.
app.get('/delay', async (_req, reply) => {
  await sleep(10);
  return reply.type('text/plain; charset=utf-8').send('hello world');
});
app.get('/1mib', async (_req, reply) => reply.type('application/octet-stream').send(MIB));

// The upload reference: buffer the raw multipart body and answer the file part's size, as the PHP app does.
app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: 16 << 20 }, (_req, body, done) => done(null, body));
app.post('/upload', async (req, reply) => {
  const body = req.body as Buffer;
  const boundary = /boundary=([^;]+)/.exec(req.headers['content-type'] ?? '')?.[1];
  const start = body.indexOf('\r\n\r\n');
  const end = boundary === undefined || start < 0 ? -1 : body.indexOf(`\r\n--${boundary}`, start);
  if (end < 0) return reply.code(400).send('malformed multipart body');
  return reply.type('text/plain; charset=utf-8').send(String(end - start - 4));
});

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`Server listening at ${address}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
