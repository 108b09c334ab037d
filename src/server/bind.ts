// Binds the listening socket before PHP boots, so that a port already in use (or an address
// not on this host) fails fast with a clear message instead of after the worker file has run.
// The bound handle is then given to Fastify's server (`listen({ handle })`): one bind, no race.
import net from 'node:net';

import { PhpasyncError } from './errors.js';

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another server listens there)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this host',
};

/** Listens on host:port with a plain net.Server; rejects with PHPASYNC_LISTEN and the reason. */
export async function bindListener(host: string, port: number): Promise<net.Server> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new PhpasyncError(
      'PHPASYNC_LISTEN',
      `cannot listen on ${shown}: ${REASONS[code] ?? (err as Error).message}${code ? ` (${code})` : ''}`,
    );
  }
  return server;
}
