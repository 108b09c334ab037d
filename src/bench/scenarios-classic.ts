// The classic-scripts scenario of `phpasync bench`: phpasync without a worker (a whole PHP
// request per HTTP request, as php-fpm does) next to nginx + php-fpm on the same script.

import type { Scenario } from './scenarios.js';
import { SCRIPTS_HELLO_PATH } from './servers/phpasync-scripts.js';

export const CLASSIC_SCENARIOS: readonly Scenario[] = [
  {
    name: 'php-classic-hello',
    measures: "Classic scripts (php_server, no worker): the yardstick's hello-world script run per request by one PHP thread (startup, execute, shutdown, as php-fpm).",
    server: 'phpasync-scripts',
    request: () => ({ path: SCRIPTS_HELLO_PATH, expectBody: 'hello world' }),
    reference: 'fastify-hello',
    yardstick: 'nginx-fpm-hello',
  },
  {
    name: 'php-mixed-classic-hello',
    measures: 'The same script next to an async worker (match /api/*): run by a classic-scripts process behind the front process, one more hop over a unix socket (framed channel, docs/classic-scripts.md).',
    server: 'phpasync-mixed',
    request: () => ({ path: SCRIPTS_HELLO_PATH, expectBody: 'hello world' }),
    reference: 'fastify-hello',
    yardstick: 'nginx-fpm-hello',
  },
];
