// phpasync serving classic scripts (no worker): `php_server` over the bench's PHP directory,
// so that the script nginx + php-fpm run for the hello yardstick is the one phpasync runs.
// `mixed`: the same next to an async worker (`match /api/*`), so the scripts run in a
// classic-scripts process behind the front (src/server/scripts-pool.ts): the hop's cost.

import fs from 'node:fs';
import path from 'node:path';
import { frankenphpBlock, writeCaddyfile } from '../../caddyfile/writer.js';
import { CLI, FPM_HELLO, PHP_APP } from '../paths.js';
import { listeningLine, spawnServer, type ChildServerHandle } from './child.js';

/** The request path of the hello script under that root. */
export const SCRIPTS_HELLO_PATH = `/${path.basename(FPM_HELLO)}`;

export async function startPhpasyncScripts(dir: string, mixed = false): Promise<ChildServerHandle> {
  const caddyfile = path.join(dir, 'Caddyfile');
  const site = {
    address: 'http://127.0.0.1:0',
    directives: [
      { name: 'root', args: ['*', path.dirname(FPM_HELLO)] },
      { name: 'php_server', block: [{ name: 'file_server', args: ['off'] }] },
    ],
  };
  const global = mixed ? [frankenphpBlock([{ file: PHP_APP, async: true }])] : [];
  if (mixed) global[0]!.block!.find((d) => d.name === 'worker')!.block!.push({ name: 'match', args: ['/api/*'] });
  fs.writeFileSync(caddyfile, writeCaddyfile(global, [site]));
  return spawnServer({ command: process.execPath, args: [CLI, 'run', '--config', caddyfile], env: { ...process.env }, listening: listeningLine });
}
