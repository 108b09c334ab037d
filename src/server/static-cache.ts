// What the file server remembers between requests, so that a hot file costs one stat instead of
// stat + realpath + @fastify/send's stat + open + read + close:
// - per request path, the file resolve() found and checked (under the root's real path, not
//   hidden, not a PHP script), with the stat it had then;
// - per real path of a small file, its bytes and the headers @fastify/send would send.
// Every use is validated by a fresh stat of the path: another inode, device, size, mtime or
// ctime (a write, a rename over it, a symlink pointed elsewhere) is a miss, and the file is
// resolved, checked and read again. A path is re-checked in full at least every RECHECK_MS
// even when its stat did not change. The stat is a synchronous syscall on the event loop, as
// nginx's open() and fstat() are on its own: with the dentry cached it costs about a
// microsecond, far less than a hop through libuv's thread pool.
// Same caveat as ETag and Last-Modified (and nginx's open_file_cache): a file rewritten with
// the same size within one mtime tick keeps its old bytes until the next change or recheck.
import fs from 'node:fs';

/** Files up to this size are kept in memory. */
export const SMALL_FILE_BYTES = 64 * 1024;
/** Bytes of file contents kept at most (least recently stored dropped first). */
const CONTENT_BUDGET = 16 * 1024 * 1024;
/** Request paths remembered at most. */
const MAX_PATHS = 4096;
/** A remembered resolution is checked again in full (realpath, root, hide) this often. */
export const RECHECK_MS = 2000;

/** The same file, unchanged: what a validating stat compares. */
export function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** The path's stat now (symlinks followed), or undefined when it is gone or unreadable. */
export function statNow(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, ELOOP, EACCES: a miss, the slow path says what it is
  }
}

interface PathEntry {
  file: string;
  real: string;
  stat: fs.Stats;
  checkedAt: number;
}

export interface ContentEntry {
  stat: fs.Stats;
  body: Buffer;
  /** The 200 response's headers, as @fastify/send builds them. */
  headers: Record<string, string | number>;
}

export class StaticCache {
  private readonly paths = new Map<string, PathEntry>();
  private readonly contents = new Map<string, ContentEntry>();
  private contentBytes = 0;

  /** A resolution remembered for this decoded request path that still holds, with the
   * file's current stat. */
  lookup(decoded: string): { file: string; real: string; stat: fs.Stats } | undefined {
    const e = this.paths.get(decoded);
    if (!e) return undefined;
    const now = statNow(e.file);
    if (!now || !sameFile(now, e.stat) || Date.now() - e.checkedAt > RECHECK_MS) {
      this.paths.delete(decoded);
      return undefined;
    }
    return { file: e.file, real: e.real, stat: now };
  }

  /** Remembers a file that resolve() checked; stat: the file's, taken before the check. */
  remember(decoded: string, file: string, real: string, stat: fs.Stats): void {
    if (this.paths.size >= MAX_PATHS) this.paths.delete(this.paths.keys().next().value!);
    this.paths.set(decoded, { file, real, stat, checkedAt: Date.now() });
  }

  /** The bytes of a small file, if they were read from the file as it is now. */
  content(real: string, stat: fs.Stats): ContentEntry | undefined {
    const e = this.contents.get(real);
    if (!e) return undefined;
    if (sameFile(e.stat, stat)) return e;
    this.dropContent(real, e);
    return undefined;
  }

  /** Reads a small file whose stat is `stat`; undefined when it changed meanwhile or cannot be
   * opened (the caller then sends it the slow way). The bytes are kept only if the file's stat
   * was the same before and after the read. */
  async read(real: string, stat: fs.Stats, headers: (s: fs.Stats) => Record<string, string | number>): Promise<ContentEntry | undefined> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(real, 'r');
    } catch {
      return undefined; // gone or unreadable since its stat: @fastify/send answers it (404, 403, 500)
    }
    try {
      const before = await fh.stat();
      if (!sameFile(before, stat) || !before.isFile() || before.size > SMALL_FILE_BYTES) return undefined;
      const body = Buffer.allocUnsafe(before.size);
      let got = 0;
      while (got < body.length) {
        const { bytesRead } = await fh.read(body, got, body.length - got, got);
        if (bytesRead === 0) return undefined; // truncated meanwhile
        got += bytesRead;
      }
      const after = await fh.stat();
      if (!sameFile(before, after)) return undefined;
      const entry = { stat: after, body, headers: headers(after) };
      const old = this.contents.get(real);
      if (old) this.dropContent(real, old);
      while (this.contentBytes + body.length > CONTENT_BUDGET && this.contents.size > 0) {
        const [k, v] = this.contents.entries().next().value!;
        this.dropContent(k, v);
      }
      this.contents.set(real, entry);
      this.contentBytes += body.length;
      return entry;
    } finally {
      await fh.close();
    }
  }

  private dropContent(real: string, e: ContentEntry): void {
    this.contents.delete(real);
    this.contentBytes -= e.body.length;
  }
}
