// Xdebug for the tests, without enabling it for the machine's PHP: Debian's php8.X-xdebug
// package is downloaded and unpacked into a cache directory (as root with apt), and tests load
// it with `php_ini zend_extension <path>`. Returns the .so, or why there is none.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function phpConfig(flag: string): string {
  const r = spawnSync(process.env.PHP_CONFIG || 'php-config', [flag], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

export function xdebugExtension(): { so: string } | { reason: string } {
  const version = phpConfig('--version');
  const extDir = phpConfig('--extension-dir');
  if (!version || !extDir) return { reason: 'php-config not found' };
  const [major, minor] = version.split('.');
  const pkg = `php${major}.${minor}-xdebug`;
  const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'phpasync', 'xdebug', path.basename(extDir));
  const so = path.join(cache, 'xdebug.so');
  if (fs.existsSync(so)) return { so };
  if (spawnSync('apt-get', ['--version']).status !== 0) return { reason: `no apt-get to fetch ${pkg}` };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-xdebug-'));
  try {
    // As root apt fetches as the _apt user, which cannot write to a private temp dir.
    fs.chmodSync(tmp, 0o777);
    const dl = spawnSync('apt-get', ['download', '-qq', pkg], { cwd: tmp, encoding: 'utf8' });
    const deb = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (dl.status !== 0 || deb === undefined) return { reason: `apt-get download ${pkg} failed: ${dl.stderr.trim()}` };
    const x = spawnSync('dpkg-deb', ['-x', deb, 'root'], { cwd: tmp, encoding: 'utf8' });
    const found = path.join(tmp, 'root', extDir, 'xdebug.so');
    if (x.status !== 0 || !fs.existsSync(found)) return { reason: `${deb} has no ${extDir}/xdebug.so` };
    fs.mkdirSync(cache, { recursive: true });
    fs.copyFileSync(found, `${so}.tmp`);
    fs.renameSync(`${so}.tmp`, so);
    return { so };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
