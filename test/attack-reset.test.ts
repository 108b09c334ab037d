// Clients that reset their connection right after sending a request (SO_LINGER {1,0}) must not
// take the server down: the aborts interrupt handlers, never the scheduler itself.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

/** Sends one request and resets the connection (RST, not FIN) as soon as it is written. */
function sendAndReset(port: number, request: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(request);
      // Next loop turn: the request is on the wire and usually in PHP when the RST lands.
      setImmediate(() => {
        s.resetAndDestroy();
        resolve();
      });
    });
    s.on('error', () => resolve());
  });
}

async function rounds(server: RunningServer, n: number, conns: number, request: string): Promise<void> {
  for (let r = 0; r < n; r++) {
    await Promise.all(Array.from({ length: conns }, () => sendAndReset(server.port, request)));
    // Every round: the server still answers, so a crash is seen in the round that caused it.
    // Right after a flood its ring may still be full of the aborted requests (dropped as they
    // are popped): 503 + Retry-After then is back-pressure, not a failure.
    let status = 0;
    for (let i = 0; i < 100 && (status === 0 || status === 503); i++) {
      if (status === 503) await new Promise((r) => setTimeout(r, 20));
      status = (await fetch(`${server.url}/after`)).status;
    }
    expect(status).toBe(200);
    expect(server.proc.exitCode).toBeNull();
  }
  // An abort interrupts one handler; it is never a fatal error of the thread.
  expect(server.output.join('\n')).not.toMatch(/restarting the interpreter|fatal error/i);
}

describe('connection resets', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ worker: 'fault-app.php' });
  });
  afterAll(async () => {
    const code = await server.stop();
    expect(code, server.output.slice(-30).join('\n')).toBe(0);
  });

  it('400 connections a round that send a request and reset, 10 rounds: the server keeps serving', async () => {
    await rounds(server, 10, 400, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });

  it('resets of requests whose handlers are suspended in a wait (sleep) interrupt just those', async () => {
    await rounds(server, 3, 100, 'GET /short-sleep HTTP/1.1\r\nHost: a\r\n\r\n');
  });

  it('resets of busy handlers (a loop) interrupt just those', async () => {
    await rounds(server, 3, 50, 'GET /short-spin HTTP/1.1\r\nHost: a\r\n\r\n');
  });
});
