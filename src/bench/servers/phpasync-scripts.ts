// phpasync serving classic scripts (no worker): `php_server` over the bench's PHP directory,
// so that the script nginx + php-fpm run for the hello yardstick is the one phpasync runs.

import fs from 'node:fs';
import path from 'node:path';
import { writeCaddyfile } from '../../caddyfile/writer.js';
import { CLI, FPM_HELLO } from '../paths.js';
import { listeningLine, spawnServer, type ChildServerHandle } from './child.js';

/** The request path of the hello script under that root. */
export const SCRIPTS_HELLO_PATH = `/${path.basename(FPM_HELLO)}`;

export async function startPhpasyncScripts(dir: string): Promise<ChildServerHandle> {
  const caddyfile = path.join(dir, 'Caddyfile');
  const site = {
    address: 'http://127.0.0.1:0',
    directives: [
      { name: 'root', args: ['*', path.dirname(FPM_HELLO)] },
      { name: 'php_server', block: [{ name: 'file_server', args: ['off'] }] },
    ],
  };
  fs.writeFileSync(caddyfile, writeCaddyfile([], [site]));
  return spawnServer({ command: process.execPath, args: [CLI, 'run', '--config', caddyfile], env: { ...process.env }, listening: listeningLine });
}
