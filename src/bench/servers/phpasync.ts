// phpasync as users start it: `phpasync run --config Caddyfile`, in a child process, on an
// ephemeral loopback port, with the bench's async worker.

import fs from 'node:fs';
import path from 'node:path';
import { ENGINE } from '../../config/defaults.js';
import { frankenphpBlock, writeCaddyfile } from '../../caddyfile/writer.js';
import { CLI, PHP_APP } from '../paths.js';
import { listeningLine, spawnServer, type ChildServerHandle } from './child.js';

/** One NTS PHP thread with the default ring: the layout `Caddyfile.async` ships with. */
export const PHP_THREADS = 1;
export const BUFFER_SIZE = ENGINE.bufferSize.default;
/** Requests the server accepts at once before it answers 503. */
export const RING_CAPACITY = PHP_THREADS * BUFFER_SIZE;

export function benchCaddyfile(
  worker: string,
  bufferSize = BUFFER_SIZE,
  threads = PHP_THREADS,
  phpIni: Record<string, string> = {},
  async = true,
): string {
  const frankenphp = frankenphpBlock([{ file: worker, num: threads, async, bufferSize, matchAll: true }], phpIni);
  const phpServer = { name: 'php_server', block: [{ name: 'index', args: ['off'] }, { name: 'file_server', args: ['off'] }] };
  return writeCaddyfile([frankenphp], [{ address: 'http://127.0.0.1:0', directives: [{ name: 'route', block: [phpServer] }] }]);
}

export interface PhpasyncSpec {
  /** Worker file (default: the bench's app). */
  worker?: string;
  bufferSize?: number;
  /** PHP threads (the worker's `num`; default PHP_THREADS). */
  threads?: number;
  /** Extra environment (e.g. PHPASYNC_COPY_THRESHOLD for the copy-threshold measurement). */
  env?: Record<string, string>;
  /** php.ini settings on top of phpasync's defaults (`php_ini` lines of the frankenphp block). */
  phpIni?: Record<string, string>;
  /** A classic worker (no `async`: the file loops on frankenphp_handle_request()). */
  classic?: boolean;
}

export async function startPhpasync(dir: string, spec: PhpasyncSpec = {}): Promise<ChildServerHandle> {
  const caddyfile = path.join(dir, 'Caddyfile');
  fs.writeFileSync(caddyfile, benchCaddyfile(spec.worker ?? PHP_APP, spec.bufferSize, spec.threads, spec.phpIni, !spec.classic));
  return spawnServer({
    command: process.execPath,
    args: [CLI, 'run', '--config', caddyfile],
    env: { ...process.env, ...spec.env },
    listening: listeningLine,
  });
}
