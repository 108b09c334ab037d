// Where the bench finds the CLI and its PHP apps, from dist/src/bench or src/bench alike.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository (or package) root: two levels above src/bench, three above dist/src/bench. */
export const ROOT = path.basename(path.resolve(here, '../..')) === 'dist' ? path.resolve(here, '../../..') : path.resolve(here, '../..');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');
export const FASTIFY_APP = path.join(ROOT, 'dist/src/bench/servers/fastify-app.js');
/** The PHP sources stay in src/: tsc does not copy them. */
export const PHP_APP = path.join(ROOT, 'src/bench/php/app.php');
export const FPM_HELLO = path.join(ROOT, 'src/bench/php/fpm-hello.php');
/** The classic worker loop (frankenphp_handle_request()) answering the same hello world. */
export const LOOP_HELLO = path.join(ROOT, 'src/bench/php/loop-hello.php');
/** The php-db scenarios: phpasync worker and php-fpm script doing the same queries. */
export const DB_WORKER = path.join(ROOT, 'src/bench/php/db-worker.php');
export const DB_FPM = path.join(ROOT, 'src/bench/php/db-fpm.php');
