// The reference server for the benches: plain Fastify hello-world, in a process of its own
// (as phpasync is), printing its port on stdout.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => 'hello /');
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`Server listening at ${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
