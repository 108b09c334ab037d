// Shared by the api-*.test.ts suites: raw HTTP requests and the zero-copy counters.
import http from 'node:http';
import { expect } from 'vitest';

import { startServer, type RunningServer, type ServerOptions } from './helpers/server.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** A request with node:http, so header names, repeats and bodies are exactly ours. */
export function request(
  server: RunningServer,
  opts: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders | string[]; body?: Buffer | string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export async function json<T = Record<string, unknown>>(server: RunningServer, opts: Parameters<typeof request>[1]): Promise<T> {
  const r = await request(server, opts);
  return JSON.parse(r.body.toString()) as T;
}

/** Starts a server whose zero-copy counters tests can read (PHPASYNC_TEST_STATS=1). */
export function startApiServer(opts: ServerOptions): Promise<RunningServer> {
  return startServer({ ...opts, env: { PHPASYNC_TEST_STATS: '1', ...opts.env } });
}

export interface Stats {
  outstandingBuffers: number;
  heldByJs: number;
  pendingRequests: number;
}

export async function stats(server: RunningServer): Promise<Stats> {
  return (await fetch(server.url + '/__phpasync/stats')).json() as Promise<Stats>;
}

/** Every buffer PHP lent to Node came back (releases run after the socket is done). */
export async function expectNoOutstanding(server: RunningServer): Promise<void> {
  let last: Stats | undefined;
  try {
    const until = Date.now() + 5000;
    for (;;) {
      last = await stats(server);
      if (last.outstandingBuffers === 0 && last.heldByJs === 0 && last.pendingRequests === 0) return;
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    expect(last).toMatchObject({ outstandingBuffers: 0, heldByJs: 0, pendingRequests: 0 });
  }
}
