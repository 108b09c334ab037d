// `run --pidfile FILE` writes the server's pid; `phpasync reload --pidfile FILE` finds the
// server there (as `nginx -s reload` does) and sends it SIGHUP.
import fs from 'node:fs';

import { PhpasyncError } from '../server/errors.js';

/** What `ps` shows for the supervisor; `phpasync reload` checks it before it signals a pid. */
export const SUPERVISOR_TITLE = 'phpasync: supervisor';

export function writePidFile(file: string): () => void {
  fs.writeFileSync(file, `${process.pid}\n`);
  return () => {
    try {
      // Only our own: a newer server may have taken the file over.
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
}

/** The pid in `file`; PHPASYNC_PIDFILE(_CONTENT) when there is none. */
export function readPidFile(file: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PhpasyncError('PHPASYNC_PIDFILE', [file, (err as Error).message]);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new PhpasyncError('PHPASYNC_PIDFILE_CONTENT', [file, JSON.stringify(text.slice(0, 40))]);
  return pid;
}

/** Whether `pid` runs the command line `title` (Linux: /proc); undefined where it cannot tell.
 * A stale pid file may name a pid some other program has now: it must not get the signal. */
export function runs(pid: number, title: string): boolean | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(title);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync('/proc/self')) return false; // no such process
    return undefined;
  }
}
