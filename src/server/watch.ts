// Watching files for the worker `watch` directive and `run --watch`: glob patterns (absolute,
// picomatch syntax: `**`, `*`, `{php,yaml}`; dot files match, so `**/*.env` sees `.env`) turned
// into one fs.watch per static base directory (recursive: inotify on every subdirectory, Node 20
// on Linux), and a burst of events (an editor's save, a `git checkout`) collapsed into one call.
import fs from 'node:fs';
import path from 'node:path';

import picomatch from 'picomatch';

/** Quiet time after the last event before the change is reported: an editor's save is a
 * truncate, a few writes and a rename within a few ms; a checkout of many files is one burst. */
export const WATCH_DEBOUNCE_MS = 200;

export interface FileWatcher {
  close(): void;
}

interface Base {
  dir: string;
  recursive: boolean;
  matchers: ((file: string) => boolean)[];
}

/** Splits each pattern into the directory to watch and a matcher for the paths under it. */
function bases(patterns: readonly string[]): Base[] {
  const byDir = new Map<string, Base>();
  for (const pattern of patterns) {
    const scan = picomatch.scan(pattern);
    let dir: string;
    let recursive: boolean;
    let match: (file: string) => boolean;
    if (scan.isGlob) {
      dir = scan.base === '' ? '.' : scan.base;
      recursive = scan.glob.includes('/') || scan.glob.includes('**');
      const m = picomatch(pattern, { dot: true });
      match = (f) => m(f);
    } else {
      // One file (or a directory: anything under it). Its directory is watched, not the file:
      // an editor that saves by renaming a new file over it would leave a watch on the file
      // looking at the old inode.
      const isDir = fs.statSync(pattern, { throwIfNoEntry: false })?.isDirectory() === true;
      dir = isDir ? pattern : path.dirname(pattern);
      recursive = isDir;
      match = isDir ? () => true : (f) => f === pattern;
    }
    const key = `${dir}\0${recursive}`;
    const b = byDir.get(key) ?? { dir, recursive, matchers: [] };
    b.matchers.push(match);
    byDir.set(key, b);
  }
  return [...byDir.values()];
}

/**
 * Calls onChange with the files that changed (absolute paths, sorted) once no event came for
 * WATCH_DEBOUNCE_MS. A base directory that does not exist or cannot be watched is reported
 * through warn and skipped (the others still work).
 */
export function watchFiles(
  patterns: readonly string[],
  onChange: (files: string[]) => void,
  warn: (message: string) => void,
): FileWatcher {
  const watchers: fs.FSWatcher[] = [];
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    timer = undefined;
    const files = [...pending].sort();
    pending = new Set();
    onChange(files);
  };
  for (const b of bases(patterns)) {
    let w: fs.FSWatcher;
    try {
      w = fs.watch(b.dir, { recursive: b.recursive, persistent: false }, (_event, name) => {
        if (name === null) return;
        const file = path.join(b.dir, name.toString());
        if (!b.matchers.some((m) => m(file))) return;
        pending.add(file);
        clearTimeout(timer);
        timer = setTimeout(fire, WATCH_DEBOUNCE_MS);
      });
    } catch (err) {
      warn(`watch: cannot watch ${b.dir}: ${(err as Error).message}`);
      continue;
    }
    w.on('error', (err) => warn(`watch: ${b.dir}: ${err.message}`));
    watchers.push(w);
  }
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
