import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags, bool } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_RUNTIME } from '../report.js';
import { loadNative } from '../runtime.js';

/** Our own package.json, found upwards from this file (src/ or dist/src/). */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'phpasync' && pkg.version) return pkg.version;
    } catch {
      // not here; keep climbing
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

const onOff = (b: boolean): string => (b ? 'on' : 'off');

export const version: Command = {
  name: 'version',
  summary: 'Print the versions of phpasync, PHP and the scheduler',
  help: `Usage: phpasync version

Prints phpasync's version, the embedded PHP's version and build (NTS or ZTS), the coroutine
scheduler backend, and whether OPcache and its JIT are on.

Exit status: 0, or 1 when the native addon cannot be loaded.`,
  async run(argv) {
    const p = parseFlags('version', argv, {});
    if (bool(p, 'help')) {
      process.stdout.write(this.help + '\n');
      return EXIT_OK;
    }
    process.stdout.write(`phpasync ${packageVersion()} (Node ${process.version})\n`);
    let v;
    try {
      v = (await loadNative()).nativeVersion();
    } catch (err) {
      process.stderr.write(`phpasync: native addon unavailable: ${(err as Error).message}\n`);
      return EXIT_RUNTIME;
    }
    process.stdout.write(`PHP ${v.phpVersion} (${v.zts ? 'ZTS' : 'NTS'})\n`);
    process.stdout.write(`scheduler: ${v.scheduler}\n`);
    process.stdout.write(`OPcache: ${onOff(v.opcache)}, JIT: ${onOff(v.jit)}\n`);
    return EXIT_OK;
  },
};
