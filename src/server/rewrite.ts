// `rewrite` and `uri`: the request URI changed before later directives, the file server and
// the worker's `match` see it (Caddy's rewrite handler). PHP still sees the URI the client sent
// as REQUEST_URI, as FrankenPHP gives it the original request's.
import type { IncomingMessage } from 'node:http';

import type { UriConfig } from '../config/model.js';
import { fillPlaceholders } from './responders.js';

function split(uri: string): [string, string | undefined] {
  const q = uri.indexOf('?');
  return q < 0 ? [uri, undefined] : [uri.slice(0, q), uri.slice(q + 1)];
}

/** Caddy's rule: the target's path replaces the path (kept when empty); a `?` in the target
 * replaces the query, none keeps it. */
export function rewriteUri(to: string, uri: string, req: IncomingMessage, scheme: string): string {
  const filled = fillPlaceholders(to, req, scheme);
  const [path, query] = split(uri);
  let [newPath, newQuery] = split(filled);
  if (newPath === '') newPath = path;
  else if (!newPath.startsWith('/')) newPath = '/' + newPath;
  const q = newQuery === undefined ? query : newQuery;
  return q === undefined || q === '' ? newPath : `${newPath}?${q}`;
}

/** `uri strip_prefix|strip_suffix|replace|path_regexp` on the path (the query is kept). */
export function uriOperation(cfg: UriConfig): (uri: string, req: IncomingMessage, scheme: string) => string {
  const onPath = (f: (path: string, req: IncomingMessage, scheme: string) => string) => (uri: string, req: IncomingMessage, scheme: string) => {
    const [path, query] = split(uri);
    const p = f(path, req, scheme);
    return query === undefined ? p : `${p}?${query}`;
  };
  switch (cfg.op) {
    case 'strip_prefix':
      return onPath((p) => {
        // Case-insensitive, as the path matchers that usually select the request.
        if (!p.toLowerCase().startsWith(cfg.prefix.toLowerCase())) return p;
        const rest = p.slice(cfg.prefix.length);
        return rest.startsWith('/') ? rest : '/' + rest;
      });
    case 'strip_suffix':
      return onPath((p) => (p.toLowerCase().endsWith(cfg.suffix.toLowerCase()) ? p.slice(0, p.length - cfg.suffix.length) || '/' : p));
    case 'replace':
      return onPath((p, req, scheme) => {
        const to = fillPlaceholders(cfg.replace, req, scheme);
        let out = p;
        let n = 0;
        let at = out.indexOf(cfg.find);
        while (at >= 0 && (cfg.limit === undefined || n < cfg.limit)) {
          out = out.slice(0, at) + to + out.slice(at + cfg.find.length);
          n++;
          at = out.indexOf(cfg.find, at + to.length);
        }
        return out;
      });
    case 'path_regexp': {
      const re = new RegExp(cfg.pattern, 'g');
      return onPath((p, req, scheme) => p.replace(re, fillPlaceholders(cfg.replace, req, scheme).replace(/\$\{(\d+)\}/g, '$$$1')));
    }
  }
}
