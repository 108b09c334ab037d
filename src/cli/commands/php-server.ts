// FrankenPHP's one-liner: a config built from flags. The flags are turned into Caddyfile text
// and adapted like any file, so `php-server` and `run` always agree on what a setting means.

import path from 'node:path';
import { adaptCaddyfile } from '../../caddyfile/index.js';
import { DEFAULT_WATCH } from '../../caddyfile/worker.js';
import { frankenphpBlock, writeCaddyfile, type CaddyDirective } from '../../caddyfile/writer.js';
import { ENGINE, LISTEN_PORT, rangeText } from '../../config/defaults.js';
import { ConfigError } from '../../config/errors.js';
import { PhpasyncError } from '../../server/errors.js';
import { bool, list, parseFlags, str } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_OK, printWarnings, UsageError } from '../report.js';
import { serve } from './run.js';

export interface PhpServerFlags {
  listen: string;
  root: string;
  workers: string[];
  async: boolean;
  bufferSize?: number;
  watch: boolean;
  debug: boolean;
}

export function phpServerCaddyfile(f: PhpServerFlags): string {
  const global: CaddyDirective[] = [];
  if (f.debug) global.push({ name: 'debug' });
  if (f.workers.length > 0) {
    const workers = f.workers.map((file) => ({
      file,
      async: f.async,
      // The async entrypoint answers every request itself, as in the TrueAsync guide.
      matchAll: f.async,
      ...(f.async && f.bufferSize !== undefined ? { bufferSize: f.bufferSize } : {}),
      // FrankenPHP's php-server watches the directory it was started in (not the worker's):
      ...(f.watch ? { watch: DEFAULT_WATCH } : {}), // relative: resolved against the working directory
    }));
    global.push(frankenphpBlock(workers));
  }
  const site = { address: f.listen, directives: [{ name: 'root', args: ['*', f.root] }, { name: 'php_server' }] };
  try {
    return writeCaddyfile(global, [site]);
  } catch (err) {
    // A flag value the Caddyfile cannot hold: speak about flags.
    if (err instanceof PhpasyncError && err.code === 'PHPASYNC_UNQUOTABLE') throw new UsageError(`php-server: ${err.message}`);
    throw err;
  }
}

export const phpServer: Command = {
  name: 'php-server',
  summary: 'Serve a PHP app from flags, without a Caddyfile',
  help: `Usage: phpasync php-server [--listen ADDR] [--root DIR] [--worker FILE]... [--async] [--buffer-size N]

Serves the PHP files under a directory (FrankenPHP's php-server), optionally through worker
scripts. With --async, each worker runs the TrueAsync pipeline: the script registers
FrankenPHP\\HttpServer::onRequest() and every request runs as a coroutine.

Options:
  -l, --listen ADDR       Address to listen on (default :${LISTEN_PORT}), e.g. 127.0.0.1:9000
  -r, --root DIR          Document root (default: the current directory)
  -w, --worker FILE       Worker script, relative to the current directory (repeatable)
      --async             Run workers in TrueAsync mode (one coroutine per request)
      --buffer-size N     Per-thread request queue of async workers, ${rangeText(ENGINE.bufferSize)} (default ${ENGINE.bufferSize.default})
      --watch             Restart workers when a file under the current directory changes
                          (**/*.{php,yaml,yml,twig,env})
  -v, --debug             Verbose logging
  -h, --help              Show this help

Exit status: 0 after a clean stop, 2 for invalid flags, 1 when the server fails.`,
  async run(argv) {
    const p = parseFlags('php-server', argv, {
      listen: { type: 'string', short: 'l' },
      root: { type: 'string', short: 'r' },
      worker: { type: 'string', short: 'w', multiple: true },
      async: { type: 'boolean' },
      'buffer-size': { type: 'string' },
      watch: { type: 'boolean' },
      debug: { type: 'boolean', short: 'v' },
    });
    if (bool(p, 'help')) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    const workers = list(p, 'worker');
    const flags: PhpServerFlags = {
      listen: str(p, 'listen') ?? `:${LISTEN_PORT}`,
      root: path.resolve(str(p, 'root') ?? '.'),
      workers: workers.map((w) => path.resolve(w)),
      async: bool(p, 'async'),
      watch: bool(p, 'watch'),
      debug: bool(p, 'debug'),
    };
    const bs = str(p, 'buffer-size');
    if (bs !== undefined) {
      if (!/^\d+$/.test(bs) || Number(bs) < ENGINE.bufferSize.min || Number(bs) > ENGINE.bufferSize.max) {
        throw new UsageError(`php-server: --buffer-size must be an integer in the range ${rangeText(ENGINE.bufferSize)}, got '${bs}'`);
      }
      if (!flags.async || workers.length === 0) throw new UsageError('php-server: --buffer-size applies to async workers: add --worker FILE --async');
      flags.bufferSize = Number(bs);
    }
    if (flags.async && workers.length === 0) throw new UsageError('php-server: --async needs a worker script: add --worker FILE');
    if (flags.watch && workers.length === 0) throw new UsageError('php-server: --watch restarts workers: add --worker FILE --async');
    const text = phpServerCaddyfile(flags);
    let adapted;
    try {
      // Not a file: names the flags in messages; relative paths resolve against the working directory.
      adapted = adaptCaddyfile(text, path.resolve('(php-server flags)'));
    } catch (err) {
      // The text is ours; only a flag value can be wrong, so speak about flags.
      if (err instanceof ConfigError) throw new UsageError(`php-server: ${err.detail}`);
      throw err;
    }
    printWarnings(adapted.warnings);
    // --watch is a worker `watch` (the Caddyfile text above): no file of config to watch.
    return serve(adapted.config);
  },
};
