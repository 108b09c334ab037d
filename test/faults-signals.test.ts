// SIGHUP, SIGUSR1 and SIGUSR2 are ignored with a log line, as Caddy does: the server keeps
// serving, and SIGUSR1 never opens Node's inspector (which would let any local user run code
// in the server). SIGTERM still drains and exits 0 afterwards.
import net from 'node:net';
import { describe, expect, it } from 'vitest';

import { startServer, waitFor } from './helpers/server.js';

/** A loopback port nothing listens on now (bound, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

describe('signals Caddy ignores', () => {
  it('SIGHUP, SIGUSR1, SIGUSR2: logged as ignored, the server keeps serving, no inspector opens; SIGTERM then exits 0', async () => {
    // The inspector port is moved off 9229 so the check cannot see another process's inspector.
    const inspectPort = await freePort();
    const srv = await startServer({ worker: 'hello.php', env: { NODE_OPTIONS: `--inspect-port=${inspectPort}` } });
    try {
      for (const signal of ['SIGUSR1', 'SIGHUP', 'SIGUSR2'] as const) {
        srv.proc.kill(signal);
        await waitFor(() => srv.logs().some((l) => l['signal'] === signal && String(l['msg']).startsWith('signal ignored')));
        const res = await fetch(srv.url + '/');
        expect(res.status).toBe(200);
        await res.text();
      }
      expect(await listening(inspectPort)).toBe(false);
      expect(srv.output.join('\n')).not.toContain('Debugger listening');
    } finally {
      expect(await srv.stop('SIGTERM')).toBe(0);
    }
    expect(srv.logs().some((l) => l['msg'] === 'shutting down' && l['signal'] === 'SIGTERM')).toBe(true);
  });
});
