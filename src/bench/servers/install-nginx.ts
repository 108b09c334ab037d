// --install-nginx: Debian's nginx and php8.2-fpm through apt-get, so the bench can show the
// classic PHP stack next to phpasync. Root only; the bench never runs sudo itself.

import { spawn } from 'node:child_process';

import { PhpasyncError } from '../../server/errors.js';

export const PACKAGES = ['nginx', 'php8.2-fpm'];

function aptGet(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // Output goes to stderr: stdout carries the report.
    const proc = spawn('apt-get', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    proc.stdout?.pipe(process.stderr);
    proc.once('error', reject);
    proc.once('exit', (code) =>
      code === 0 ? resolve() : reject(new PhpasyncError('PHPASYNC_BENCH_INSTALL', [`apt-get ${args.join(' ')} exited with ${code}`])),
    );
  });
}

export async function installNginxFpm(): Promise<void> {
  if (process.getuid?.() !== 0) throw new PhpasyncError('PHPASYNC_BENCH_INSTALL', [`--install-nginx needs root (apt-get install ${PACKAGES.join(' ')})`]);
  await aptGet(['update']);
  await aptGet(['install', '-y', '--no-install-recommends', ...PACKAGES]);
}
