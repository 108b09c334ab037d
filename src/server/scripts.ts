// Classic scripts (no worker): which PHP file a request runs, decided here and only here, the
// way Caddy's php_server does it:
//   - a directory asked for without its trailing slash, that has the index file: 308 to `path/`;
//   - try_files {path} {path}/index.php index.php (the `index` setting; `index off`: {path}
//     only), each candidate split at the first split_path extension (`.php`) that ends a path
//     element: what comes before is SCRIPT_NAME, the rest PATH_INFO;
//   - {path} that is an existing non-PHP file goes to the static file server (php_server's own,
//     unless `file_server off`); PHP files are run, never sent as text.
// `php` (no index) runs only {path} split the same way; the other paths go to the site's
// `file_server` when it has one. The script must be a
// regular file whose real path lies under the root's: `..`, encoded or not, NUL bytes and
// symbolic links out of the root are refused. The result travels to PHP in the request
// envelope (SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO, DOCUMENT_ROOT; php/server/scripts.c).
//
// What a path resolved to (a script, a directory redirect, nothing) is kept for CACHE_MS, as
// PHP's realpath cache and OPcache's revalidate_freq do: the stat()s and realpath() cost the
// JS thread more than the rest of a request (measured on hello-world, 2026-11-24: 75 us of
// main-thread CPU per request with them, against the async worker's ~25). A file created,
// removed or replaced by a link is seen within that time. Static files are resolved each time.
import fs from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';

import { decodeRequestPath, type Resolved, type StaticFiles } from './static-files.js';

/** What PHP runs for a request: [document_root, script_filename, script_name, path_info]. */
export type ScriptTarget = [string, string, string, string];

export type ScriptResolved =
  | { kind: 'script'; target: ScriptTarget; real: string }
  | { kind: 'static'; resolved: Resolved }
  | { kind: 'redirect'; location: string }
  | { kind: 'missing' }
  | { kind: 'refused'; code: 'PHPASYNC_FILE_BAD_PATH' | 'PHPASYNC_FILE_FORBIDDEN'; why: string };

export interface ClassicScriptsOptions {
  /** Absolute root the scripts are served from. */
  root: string;
  /** Index file of directories and the fallback (`index.php`); false: `index off` / `php`. */
  index: string | false;
  /** Extensions that end a script's path (lower case, with the dot). */
  splitPath: string[];
  /** DOCUMENT_ROOT and SCRIPT_FILENAME use the root's real path (resolve_root_symlink). */
  resolveRootSymlink: boolean;
  /** php_server's file server for the other files; absent: `file_server off` or `php`. */
  files?: StaticFiles;
  /** false: no fallback to the root's index file (next to a worker, which is the fallback). */
  fallback?: boolean;
}

const SCRIPT = Symbol('phpasync.script');
type Tagged = IncomingMessage & { [SCRIPT]?: ScriptTarget };

/** Marks the request with the script it runs (the plugin puts it into the envelope). */
export function setScript(req: IncomingMessage, target: ScriptTarget): void {
  (req as Tagged)[SCRIPT] = target;
}

export function scriptOf(req: IncomingMessage): ScriptTarget | undefined {
  return (req as Tagged)[SCRIPT];
}

/** How long a path's resolution is reused, and how many are kept. */
const CACHE_MS = 1000;
const CACHE_MAX = 4096;

type Cached = { kind: 'script'; target: ScriptTarget; real: string } | { kind: 'redirect' } | { kind: 'missing' };

export class ClassicScripts {
  private real: Promise<string> | undefined;
  private readonly cache = new Map<string, { until: number; value: Cached }>();

  constructor(private readonly opts: ClassicScriptsOptions) {}

  get root(): string {
    return this.opts.root;
  }

  private realRoot(): Promise<string> {
    this.real ??= fs.realpath(this.opts.root);
    return this.real;
  }

  /** Where the first split_path extension ends a path element (-1: none). */
  private splitAt(p: string): number {
    const lower = p.toLowerCase();
    let best = -1;
    for (const ext of this.opts.splitPath) {
      let from = 0;
      for (;;) {
        const i = lower.indexOf(ext, from);
        if (i < 0) break;
        const end = i + ext.length;
        // `/a.php` or `/a.php/info`; not `/a.phpx`, and a bare `/.php` names no file.
        if ((end === p.length || p[end] === '/') && i > 0 && p[i - 1] !== '/') {
          if (best < 0 || end < best) best = end;
          break;
        }
        from = i + 1;
      }
    }
    return best;
  }

  async resolve(target: string): Promise<ScriptResolved> {
    const q = target.search(/[?#]/);
    const rawPath = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q);
    const now = performance.now();
    const hit = this.cache.get(rawPath);
    if (hit && hit.until > now) return hit.value.kind === 'redirect' ? { kind: 'redirect', location: `${rawPath}/${query}` } : hit.value;
    const r = await this.lookup(rawPath, target, query);
    if (r.kind === 'script' || r.kind === 'redirect' || r.kind === 'missing') {
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(rawPath, { until: now + CACHE_MS, value: r.kind === 'redirect' ? { kind: 'redirect' } : r });
    }
    return r;
  }

  private async lookup(rawPath: string, target: string, query: string): Promise<ScriptResolved> {
    const decoded = decodeRequestPath(rawPath);
    if (typeof decoded !== 'string') return decoded;
    const root = this.opts.root;
    const index = this.opts.index;

    if (index !== false && !decoded.endsWith('/') && (await isFile(path.join(root, decoded, index)))) {
      return { kind: 'redirect', location: `${rawPath}/${query}` };
    }
    const candidates = [decoded];
    if (index !== false) candidates.push(decoded.endsWith('/') ? decoded + index : `${decoded}/${index}`);
    if (index !== false && this.opts.fallback !== false) candidates.push(`/${index}`);
    for (const [i, c] of candidates.entries()) {
      const at = this.splitAt(c);
      if (at < 0) {
        // Only {path} itself can be a static file.
        if (i > 0 || !this.opts.files) continue;
        const r = await this.opts.files.resolve(target);
        if (r.kind === 'file' || r.kind === 'redirect' || (r.kind === 'refused' && !r.phpScript)) return { kind: 'static', resolved: r };
        continue;
      }
      const scriptName = path.posix.normalize(c.slice(0, at));
      const file = path.join(root, scriptName);
      if (!(await isFile(file))) continue;
      const realRoot = await this.realRoot();
      let real: string;
      try {
        real = await fs.realpath(file);
      } catch {
        continue;
      }
      if (!real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) {
        return { kind: 'refused', code: 'PHPASYNC_FILE_FORBIDDEN', why: 'the script is outside the root (symbolic link)' };
      }
      const docRoot = this.opts.resolveRootSymlink ? realRoot : root;
      return { kind: 'script', target: [docRoot, path.join(docRoot, scriptName), scriptName, c.slice(at)], real };
    }
    return { kind: 'missing' };
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false; // ENOENT, ENOTDIR, ELOOP, EACCES
  }
}
