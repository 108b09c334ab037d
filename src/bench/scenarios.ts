// What `phpasync bench` measures. Each scenario names the server it needs, the request it
// sends, and the scenario (or bound) its ratio is taken against, measured in the same run.

import crypto from 'node:crypto';

import { CLASSIC_SCENARIOS } from './scenarios-classic.js';
import { DB_SCENARIOS } from './scenarios-db.js';
import { FRONT_SCENARIOS } from './scenarios-front.js';
import type { FrontServerKind } from './servers/front.js';
import { PHP_THREADS, RING_CAPACITY } from './servers/phpasync.js';

export type ServerKind = 'fastify' | 'phpasync' | 'phpasync-classic' | 'phpasync-scripts' | 'phpasync-mixed' | 'nginx-fpm' | 'phpasync-db' | 'nginx-fpm-db' | FrontServerKind;

export interface RequestSpec {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer;
  /** The exact body every 2xx must carry; others count as mismatches. Omitted for big bodies. */
  expectBody?: string;
}

export interface Scenario {
  name: string;
  /** One line: what the figure says. Shown in --help, the report and bench/README.md. */
  measures: string;
  server: ServerKind;
  request(): RequestSpec;
  /** Fixed concurrency, when the scenario is defined by it; otherwise --connections. */
  connections?: number;
  /** The scenario whose req/s is the denominator of this one's ratio. */
  reference?: string;
  /** Another server doing the same work (nginx + php-fpm; Fastify's own timers for a wait):
   * a second ratio, drawn when that scenario ran too. */
  yardstick?: string;
  /** Little's law: at most c / latency req/s, and never more than the CPU allows. */
  latencyBoundMs?: number;
  /** The worker is asked first whether Async\delay exists; without it the scenario is skipped. */
  needsAsyncDelay?: boolean;
  /** CPU each request burns on the PHP thread: at most threads / work req/s. */
  workBoundMs?: number;
  /** Report the share of 503s and the latency of accepted (2xx) requests only. */
  overload?: boolean;
}

export const DELAY_CONNECTIONS = 200;
export const OVERLOAD_CONNECTIONS = 5 * RING_CAPACITY;
export const UPLOAD_BYTES = 100 * 1024;
const HELLO = 'hello world';

/** A multipart/form-data POST with one 100 KB file part, built once. The part's bytes look like
 * a real file's (the same pseudo-random bytes every run, from AES-CTR over zeros): a filler of
 * one byte that also occurs in the boundary made PHP's strpos step 5 bytes at a time (80 us a
 * search against Node's 2.6), which measured that corner of PHP's search, not the server. */
function uploadRequest(): RequestSpec {
  const boundary = 'phpasyncbench7MA4YWxkTrZu0gW';
  const filler = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16), Buffer.alloc(16)).update(Buffer.alloc(UPLOAD_BYTES));
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="data.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    filler,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return {
    path: '/upload',
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
    expectBody: String(UPLOAD_BYTES),
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'fastify-hello',
    measures: 'Reference: plain Fastify hello world in its own process (the ceiling of the Node front).',
    server: 'fastify',
    request: () => ({ path: '/hello', expectBody: HELLO }),
  },
  {
    name: 'php-hello',
    measures: 'phpasync hello world: the full hand-off cost (Fastify → ring → PHP coroutine → socket).',
    server: 'phpasync',
    request: () => ({ path: '/hello', expectBody: HELLO }),
    reference: 'fastify-hello',
    yardstick: 'nginx-fpm-hello',
  },
  {
    name: 'php-json',
    measures: 'A small JSON API: a few fields through json_encode with a Content-Type header.',
    server: 'phpasync',
    request: () => ({ path: '/json' }),
    reference: 'fastify-hello',
  },
  {
    name: 'fastify-delay-10ms',
    measures: `Reference for php-delay-10ms: a Fastify route awaiting a 10 ms setTimeout at c=${DELAY_CONNECTIONS}, against min(c / 10 ms, fastify-hello req/s): what Node itself reaches on this machine.`,
    server: 'fastify',
    request: () => ({ path: '/delay', expectBody: HELLO }),
    connections: DELAY_CONNECTIONS,
    reference: 'fastify-hello',
    latencyBoundMs: 10,
  },
  {
    name: 'php-delay-10ms',
    measures: `Coroutine concurrency: each request waits 10 ms in Async\\delay() at c=${DELAY_CONNECTIONS}; ratio to min(c / 10 ms, php-hello req/s).`,
    server: 'phpasync',
    request: () => ({ path: '/delay', expectBody: HELLO }),
    connections: DELAY_CONNECTIONS,
    reference: 'php-hello',
    yardstick: 'fastify-delay-10ms',
    latencyBoundMs: 10,
    needsAsyncDelay: true,
  },
  {
    name: 'fastify-1mib',
    measures: 'Reference for big bodies: Fastify sending a preallocated 1 MiB Buffer.',
    server: 'fastify',
    request: () => ({ path: '/1mib' }),
  },
  {
    name: 'php-1mib',
    measures: 'A 1 MiB response written from one PHP string (zero-copy path: Node sends PHP\'s bytes).',
    server: 'phpasync',
    request: () => ({ path: '/1mib' }),
    reference: 'fastify-1mib',
  },
  {
    name: 'fastify-upload',
    measures: 'Reference for uploads: Fastify buffering the same multipart POST and answering the part size.',
    server: 'fastify',
    request: uploadRequest,
  },
  {
    name: 'php-upload',
    measures: 'A multipart POST with a 100 KB file part, parsed in PHP; answers the part size.',
    server: 'phpasync',
    request: uploadRequest,
    reference: 'fastify-upload',
  },
  {
    name: 'overload',
    measures: `Back-pressure: c=${OVERLOAD_CONNECTIONS} (5× the ring of ${RING_CAPACITY}) on a handler with 1 ms of CPU; share of 503s, p99 of the accepted; ratio to the ${PHP_THREADS} thread(s) / 1 ms bound.`,
    server: 'phpasync',
    request: () => ({ path: '/work' }),
    connections: OVERLOAD_CONNECTIONS,
    reference: 'php-hello',
    overload: true,
    workBoundMs: 1,
  },
  {
    name: 'nginx-fpm-hello',
    measures: 'Yardstick: nginx + php-fpm (static children) serving a hello-world script.',
    server: 'nginx-fpm',
    request: () => ({ path: '/hello', expectBody: HELLO }),
    reference: 'fastify-hello',
  },
  {
    name: 'php-loop-hello',
    measures: 'The classic worker loop (frankenphp_handle_request(), one request at a time per thread) serving the same hello world.',
    server: 'phpasync-classic',
    request: () => ({ path: '/hello', expectBody: HELLO }),
    reference: 'fastify-hello',
    yardstick: 'nginx-fpm-hello',
  },
  ...CLASSIC_SCENARIOS,
  ...DB_SCENARIOS,
  ...FRONT_SCENARIOS,
];

export function scenarioNames(): string[] {
  return SCENARIOS.map((s) => s.name);
}

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/**
 * The scenarios to run, in the canonical order, with the references of the chosen ones added:
 * a ratio is only honest against a figure measured in the same run.
 */
export function plan(names: readonly string[]): Scenario[] {
  const wanted = new Set(names.length > 0 ? names : scenarioNames());
  let grew = true;
  while (grew) {
    grew = false;
    for (const name of [...wanted]) {
      const ref = findScenario(name)?.reference;
      if (ref !== undefined && !wanted.has(ref)) {
        wanted.add(ref);
        grew = true;
      }
    }
  }
  return SCENARIOS.filter((s) => wanted.has(s.name));
}
