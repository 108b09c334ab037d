// Static files for `file_server` and php_server's built-in file serving. The request path is
// resolved under the root here (index files, hidden names, precompressed siblings, the
// canonical trailing slash of directories); @fastify/send then sends the one file it resolved
// to (ETag, Last-Modified, conditional requests, Range, HEAD). Nothing outside the root is ever
// sent: `..` (plain or percent-encoded) is refused, NUL bytes are refused, and the real path of
// the file (symlinks followed) must lie under the root's real path. PHP scripts are never sent
// as text. Hot files skip most of that work through static-cache.ts (validated by a stat each
// time); @fastify/send still answers every conditional or Range request.
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline, Readable } from 'node:stream';

import send from '@fastify/send';

import type { ResponseEncoder } from './encode.js';
import { httpAnswer, type HttpAnswer } from './errors.js';
import { SMALL_FILE_BYTES, StaticCache } from './static-cache.js';

/** Caddy's canonical-URI redirect for directories keeps the method (308). */
const PERMANENT_REDIRECT = 308;
/** A whole file. */
const OK = 200;

export type Precompressed = 'br' | 'gzip' | 'zstd';

export interface StaticFilesOptions {
  /** Absolute root directory. */
  root: string;
  /** Tried in order for a path ending in `/`. */
  index: string[];
  /** Names (globs with `*` and `?`, matched against each path element) or absolute paths. */
  hide: string[];
  /** Sibling files (`x.css.br`, `x.css.gz`, `x.css.zst`) sent to clients that accept them. */
  precompressed: Precompressed[];
  /** Extensions of PHP scripts (lower case, with the dot): never sent. */
  phpExtensions: string[];
  /** False: a directory is not the file server's (php_server: it is PHP's index to answer). */
  directories?: boolean;
}

const SUFFIX: Record<Precompressed, string> = { br: '.br', gzip: '.gz', zstd: '.zst' };

/** What a request path resolved to. */
export type Resolved =
  | { kind: 'file'; file: string; real: string; stat?: Stats }
  | { kind: 'redirect'; location: string }
  | { kind: 'missing' }
  | { kind: 'refused'; code: 'PHPASYNC_FILE_BAD_PATH' | 'PHPASYNC_FILE_FORBIDDEN'; why: string; phpScript?: boolean; real?: string };

function globRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

/** A request path, percent-decoded, or why it names no file: not absolute, badly encoded, a NUL
 * byte, or a `..` segment (Caddy cleans `..` away; refusing it leaves no doubt what was asked). */
export function decodeRequestPath(rawPath: string): string | Extract<Resolved, { kind: 'refused' }> {
  if (!rawPath.startsWith('/')) return { kind: 'refused', code: 'PHPASYNC_FILE_BAD_PATH', why: 'the path must start with /' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { kind: 'refused', code: 'PHPASYNC_FILE_BAD_PATH', why: 'malformed percent-encoding in the path' };
  }
  if (decoded.includes('\0')) return { kind: 'refused', code: 'PHPASYNC_FILE_BAD_PATH', why: 'NUL byte in the path' };
  if (decoded.split('/').includes('..')) return { kind: 'refused', code: 'PHPASYNC_FILE_FORBIDDEN', why: "'..' in the path" };
  return decoded;
}

export class StaticFiles {
  private readonly hideNames: RegExp[];
  private readonly hidePaths: string[];
  private realRoot: string | undefined;
  private readonly cache = new StaticCache();

  constructor(private readonly opts: StaticFilesOptions) {
    this.hideNames = opts.hide.filter((h) => !path.isAbsolute(h)).map(globRegExp);
    this.hidePaths = opts.hide.filter((h) => path.isAbsolute(h));
  }

  get root(): string {
    return this.opts.root;
  }

  /** The root's real path, looked up once (a root that moves needs a restart, as in Caddy). */
  private async rootReal(): Promise<string> {
    this.realRoot ??= await fs.realpath(this.opts.root);
    return this.realRoot;
  }

  /** Resolves a request target (`/a/b?x`) to a file under the root, or says why not. */
  async resolve(target: string): Promise<Resolved> {
    const q = target.search(/[?#]/);
    const rawPath = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q);
    const decoded = decodeRequestPath(rawPath);
    if (typeof decoded !== 'string') return decoded;
    const parts = decoded.split('/');
    if (parts.some((p) => this.hideNames.some((re) => re.test(p)))) return { kind: 'missing' };
    const hit = this.cache.lookup(decoded);
    if (hit) return { kind: 'file', ...hit };

    let file = path.join(this.opts.root, decoded);
    const stat = await statOrNull(file);
    if (!stat) return { kind: 'missing' };
    if (stat.isDirectory()) {
      if (this.opts.directories === false) return { kind: 'missing' };
      // Caddy's canonical URIs: a directory is always asked for with its trailing slash.
      if (!decoded.endsWith('/')) return { kind: 'redirect', location: `${rawPath}/${query}` };
      for (const name of this.opts.index) {
        const s = await statOrNull(path.join(file, name));
        // Not remembered: a new index file earlier in the list must win at once.
        if (s?.isFile()) return withStat(await this.checked(path.join(file, name)), s);
      }
      // No index file: directory listings (browse) are off.
      return { kind: 'missing' };
    }
    if (!stat.isFile()) return { kind: 'missing' }; // sockets, fifos, devices
    const r = await this.checked(file);
    if (r.kind === 'file') this.cache.remember(decoded, file, r.real, stat);
    return withStat(r, stat);
  }

  /** Refuses a file that is hidden, a PHP script, or whose real path leaves the root. */
  private async checked(file: string): Promise<Resolved> {
    let real: string;
    try {
      real = await fs.realpath(file);
    } catch {
      return { kind: 'missing' };
    }
    const root = await this.rootReal();
    if (real !== root && !real.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
      return { kind: 'refused', code: 'PHPASYNC_FILE_FORBIDDEN', why: 'the file is outside the root (symbolic link)' };
    }
    if (this.hidePaths.some((h) => file === h || file.startsWith(h + path.sep) || real === h || real.startsWith(h + path.sep))) {
      return { kind: 'missing' };
    }
    if (this.hideNames.some((re) => re.test(path.basename(file)) || re.test(path.basename(real)))) return { kind: 'missing' };
    for (const f of [file, real]) {
      if (this.opts.phpExtensions.includes(path.extname(f).toLowerCase())) {
        return { kind: 'refused', code: 'PHPASYNC_FILE_FORBIDDEN', why: 'PHP scripts are run, never sent as text', phpScript: true, real };
      }
    }
    return { kind: 'file', file, real };
  }

  /** Sends what resolve() found. encoder: the site's `encode`, applied to files that were
   * not precompressed. */
  async serve(req: IncomingMessage, res: ServerResponse, resolved: Resolved, encoder?: ResponseEncoder): Promise<void> {
    if (resolved.kind === 'redirect') {
      sendPermanentRedirect(res, resolved.location);
      return;
    }
    if (resolved.kind === 'missing') {
      plain(res, httpAnswer('PHPASYNC_NO_FILE'));
      return;
    }
    if (resolved.kind === 'refused') {
      plain(res, httpAnswer(resolved.code, resolved.why));
      return;
    }
    let file = resolved.real;
    let contentEncoding: string | undefined;
    const accepted = this.opts.precompressed.length > 0 ? acceptedEncodings(req.headers['accept-encoding']) : undefined;
    if (resolved.stat !== undefined && !this.opts.precompressed.some((e) => accepted!.has(e)) && plainRequest(req)) {
      if (await this.serveSmall(req, res, resolved.real, resolved.stat, encoder)) return;
    }
    if (accepted) {
      for (const enc of this.opts.precompressed) {
        if (!accepted.has(enc)) continue;
        const sibling = await this.checked(resolved.file + SUFFIX[enc]);
        if (sibling.kind !== 'file') continue;
        file = sibling.real;
        contentEncoding = enc;
        break;
      }
    }
    const result = await send(req, encodeFsPath(file), { ...SEND_OPTIONS, contentType: contentEncoding === undefined });
    const headers: Record<string, string | number> = { ...result.headers };
    if (this.opts.precompressed.length > 0) headers.Vary = 'Accept-Encoding';
    if (contentEncoding !== undefined) {
      headers['Content-Encoding'] = contentEncoding;
      const type = send.mime.getType(resolved.real);
      if (type) headers['Content-Type'] = send.isUtf8MimeType(type) ? `${type}; charset=utf-8` : type;
    }
    const encoding =
      contentEncoding === undefined && encoder !== undefined && result.type === 'file'
        ? encoder.choose(req, result.statusCode, headers['Content-Type'], Number(headers['Content-Length']))
        : undefined;
    if (encoding) {
      delete headers['Content-Length'];
      headers['Content-Encoding'] = encoding.name;
      headers.Vary = 'Accept-Encoding';
      res.writeHead(result.statusCode, headers);
      pipeline(result.stream, encoding.create(), res, () => {});
      return;
    }
    res.writeHead(result.statusCode, headers);
    pipeline(result.stream, res, () => {});
  }

  /** A plain GET or HEAD of a small file, answered from memory (read once, kept while its stat
   * holds) with @fastify/send's headers. False: not small, or it changed; send it the slow way. */
  private async serveSmall(req: IncomingMessage, res: ServerResponse, real: string, stat: Stats, encoder?: ResponseEncoder): Promise<boolean> {
    if (stat.size > SMALL_FILE_BYTES) return false;
    const entry = this.cache.content(real, stat) ?? (await this.cache.read(real, stat, (s) => sendHeaders(real, s)));
    if (!entry) return false;
    const headers: Record<string, string | number> = { ...entry.headers };
    if (this.opts.precompressed.length > 0) headers.Vary = 'Accept-Encoding';
    const encoding = encoder?.choose(req, OK, headers['Content-Type'], entry.body.length);
    if (encoding) {
      delete headers['Content-Length'];
      headers['Content-Encoding'] = encoding.name;
      headers.Vary = 'Accept-Encoding';
      res.writeHead(OK, headers);
      if (req.method === 'HEAD') res.end();
      else pipeline(Readable.from([entry.body]), encoding.create(), res, () => {});
      return true;
    }
    res.writeHead(OK, headers);
    if (req.method === 'HEAD') res.end();
    else res.end(entry.body);
    return true;
  }
}

/** How @fastify/send is asked to send a file (its headers are copied by sendHeaders()). */
const SEND_OPTIONS = {
  dotfiles: 'allow', // hiding is decided above
  index: false,
  extensions: false,
  acceptRanges: true,
  cacheControl: false,
  etag: true,
  lastModified: true,
} as const;

/** The headers @fastify/send 4 gives a whole file with SEND_OPTIONS (lib/send.js, sendFile):
 * test/static-cache.test.ts compares the two. */
function sendHeaders(file: string, stat: Stats): Record<string, string | number> {
  let type = send.mime.getType(file); // mime 3 has no default type: none is sent
  if (type && send.isUtf8MimeType(type)) type += '; charset=utf-8';
  return {
    'Accept-Ranges': 'bytes',
    'Last-Modified': stat.mtime.toUTCString(),
    ETag: `W/"${stat.size.toString(16)}-${stat.mtime.getTime().toString(16)}"`,
    ...(type ? { 'Content-Type': type } : {}),
    'Content-Length': stat.size,
  };
}

/** A GET or HEAD that @fastify/send would answer 200 with the whole file: no Range and no
 * precondition (those still go through send). */
function plainRequest(req: IncomingMessage): boolean {
  const h = req.headers;
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    h.range === undefined &&
    h['if-match'] === undefined &&
    h['if-none-match'] === undefined &&
    h['if-modified-since'] === undefined &&
    h['if-unmodified-since'] === undefined
  );
}

/** Caddy's canonical-URI redirect of a directory (php_server's too). */
export function sendPermanentRedirect(res: ServerResponse, location: string): void {
  res.writeHead(PERMANENT_REDIRECT, { Location: location, 'Content-Length': '0' });
  res.end();
}

/** @fastify/send decodes its path argument: the file's own `%` and `?` must survive that. */
function encodeFsPath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** A file resolve() found, with the stat it had when it was checked. */
function withStat(r: Resolved, stat: Stats): Resolved {
  return r.kind === 'file' ? { ...r, stat } : r;
}

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.stat(p);
  } catch {
    return null; // ENOENT, ENOTDIR, ELOOP, EACCES: not something we can send
  }
}

function plain(res: ServerResponse, a: HttpAnswer): void {
  res.writeHead(a.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(a.body)) });
  res.end(a.body);
}

/** Encodings of an Accept-Encoding header with a non-zero q (`*` not expanded). */
export function acceptedEncodings(header: string | string[] | undefined): Map<string, number> {
  const out = new Map<string, number>();
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of text.split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (q > 0 && Number.isFinite(q)) out.set(name.toLowerCase(), q);
  }
  return out;
}
