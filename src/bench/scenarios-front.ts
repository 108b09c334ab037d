// The front-end scenarios of `phpasync bench`: what a site serves besides PHP's own work,
// each next to the stack users compare it with, measured in the same run.

import type { Scenario } from './scenarios.js';
import { STATIC_BYTES, STATIC_FILE } from './servers/front.js';

const GZIP_HEADERS = { 'accept-encoding': 'gzip' };

export const FRONT_SCENARIOS: readonly Scenario[] = [
  {
    name: 'nginx-static-10k',
    measures: `Yardstick for static-10k: nginx (one worker process, sendfile) serving a ${STATIC_BYTES / 1024} KiB file.`,
    server: 'nginx-static',
    request: () => ({ path: `/${STATIC_FILE}` }),
  },
  {
    name: 'static-10k',
    measures: `phpasync's file_server sending a ${STATIC_BYTES / 1024} KiB file (one stat per request, the bytes kept in memory while it holds; ETag, Last-Modified, Range as @fastify/send); ratio to nginx.`,
    server: 'phpasync-static',
    request: () => ({ path: `/${STATIC_FILE}` }),
    reference: 'nginx-static-10k',
  },
  {
    name: 'fastify-gzip-50k',
    measures: 'Reference for php-gzip-50k: Fastify + @fastify/compress answering a ~50 KiB JSON document, serialized and gzip-encoded per request.',
    server: 'fastify-gzip',
    request: () => ({ path: '/json-50k', headers: GZIP_HEADERS }),
  },
  {
    name: 'php-gzip-50k',
    measures: 'The same ~50 KiB JSON from json_encode in PHP, gzip-encoded by the site\'s `encode gzip` (zlib default level, as the reference).',
    server: 'phpasync-gzip',
    request: () => ({ path: '/json-50k', headers: GZIP_HEADERS }),
    reference: 'fastify-gzip-50k',
  },
];
