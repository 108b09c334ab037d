// Classic scripts next to a worker: what the front process tells a classic-scripts process about
// a request it hands over (src/server/scripts-pool.ts sends, src/server/scripts-child.ts reads).
// The request travels as HTTP over a unix socket in a 0700 directory only the front process
// knows, so what its client was (address, port, scheme, HTTP version) and the script the front
// resolved ride in one private header. The front drops that header from every request a client
// sends before adding its own; the child takes it only from that socket, and removes it before
// PHP sees the request.
import type { ScriptTarget } from './scripts.js';

/** The private header's name (lower case, as Node gives header names). */
export const CLASSIC_HEADER = 'x-phpasync-classic';

/** The client as the front process saw it, the script to run and the site's index. */
export interface ClassicMeta {
  /** REMOTE_ADDR, REMOTE_PORT. */
  addr: string;
  port: number;
  /** http or https (HTTPS, REQUEST_SCHEME). */
  scheme: string;
  /** The client's HTTP version (SERVER_PROTOCOL). */
  version: string;
  /** What PHP runs: [document_root, script_filename, script_name, path_info]. */
  target: ScriptTarget;
  /** The site's index in config.sites (its `encode`). */
  site: number;
  /** The front's request id: the child's log lines about the request carry the same. */
  id: string;
}

/** The header's value: ASCII whatever the paths hold (a header value is bytes, not UTF-8). */
export function encodeMeta(m: ClassicMeta): string {
  return encodeURIComponent(JSON.stringify([m.addr, m.port, m.scheme, m.version, m.target, m.site, m.id]));
}

/** Undefined when the value is not one encodeMeta made. */
export function decodeMeta(value: string): ClassicMeta | undefined {
  let v: unknown;
  try {
    v = JSON.parse(decodeURIComponent(value));
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v.length !== 7) return undefined;
  const [addr, port, scheme, version, target, site, id] = v as unknown[];
  const strings = (a: unknown): a is ScriptTarget => Array.isArray(a) && a.length === 4 && a.every((s) => typeof s === 'string');
  if (typeof addr !== 'string' || typeof port !== 'number' || (scheme !== 'http' && scheme !== 'https')) return undefined;
  if (typeof version !== 'string' || !strings(target) || typeof site !== 'number' || typeof id !== 'string') return undefined;
  return { addr, port, scheme, version, target, site, id };
}
