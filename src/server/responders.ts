// Caddy's `respond` and `redir`: answers written before PHP or the file server is asked, in the
// order Caddy runs them (redir before respond). Their matchers may test the path only (inline
// `/path*` or an `@name` of `path` patterns); their text may use the request placeholders
// below, resolved per request. The config check refuses the rest by name.
import type { IncomingMessage } from 'node:http';

import type { FastifyReply } from 'fastify';

import type { DirectiveConfig } from '../config/model.js';
import type { RESPONDER_PLACEHOLDERS } from '../config/responder-checks.js';
import { compileWorkerMatch } from '../config/worker-match.js';

export interface Responder {
  /** Undefined: every request. */
  test?: (target: string) => boolean;
  answer(req: IncomingMessage, reply: FastifyReply): void;
}

const PLACEHOLDERS: Record<(typeof RESPONDER_PLACEHOLDERS)[number], (req: IncomingMessage, scheme: string) => string> = {
  'http.request.uri': (req) => req.url ?? '/',
  'http.request.uri.path': (req) => pathOf(req.url),
  'http.request.uri.query': (req) => {
    const u = req.url ?? '';
    const q = u.indexOf('?');
    return q < 0 ? '' : u.slice(q + 1);
  },
  'http.request.host': (req) => hostOf(req).replace(/:\d+$/, ''),
  'http.request.hostport': (req) => hostOf(req),
  'http.request.scheme': (_req, scheme) => scheme,
  'http.request.method': (req) => req.method ?? 'GET',
};

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.search(/[?#]/);
  return q < 0 ? u : u.slice(0, q);
}

function hostOf(req: IncomingMessage): string {
  return req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '';
}

/** The text with the request placeholders above filled in (others are left as written). */
export function fillPlaceholders(text: string, req: IncomingMessage, scheme: string): string {
  if (!text.includes('{')) return text;
  return text.replace(/\{([^{}\s]+)\}/g, (all, key: string) => PLACEHOLDERS[key as keyof typeof PLACEHOLDERS]?.(req, scheme) ?? all);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The responders of a site's directives (already in Caddy's order), checked by checkRunnable. */
export function respondersOf(dirs: readonly DirectiveConfig[]): Responder[] {
  const out: Responder[] = [];
  for (const d of dirs) {
    if (!d.respond && !d.redir) continue;
    const test = d.match?.path ? compileWorkerMatch(d.match.path) : undefined;
    const base = test ? { test } : {};
    if (d.redir) {
      const { to, status, html } = d.redir;
      out.push({
        ...base,
        answer(req, reply) {
          const location = fillPlaceholders(to, req, reply.request.protocol);
          if (html) {
            // Caddy's page for `redir … html`: a meta refresh for clients without a Location.
            const safe = escapeHtml(location);
            const body = `<!DOCTYPE html>\n<html>\n\t<head>\n\t\t<title>Redirecting...</title>\n\t\t<script>window.location.replace("${safe}");</script>\n\t\t<meta http-equiv="refresh" content="0; URL='${safe}'">\n\t</head>\n\t<body>Redirecting to <a href="${safe}">${safe}</a>...</body>\n</html>\n`;
            reply.status(status).header('content-type', 'text/html; charset=utf-8').send(body);
            return;
          }
          reply.status(status).header('location', location).send('');
        },
      });
    } else if (d.respond) {
      const { status, body, close } = d.respond;
      out.push({
        ...base,
        answer(req, reply) {
          if (close) reply.header('connection', 'close');
          if (body !== '') reply.header('content-type', 'text/plain; charset=utf-8');
          reply.status(status).send(fillPlaceholders(body, req, reply.request.protocol));
        },
      });
    }
  }
  return out;
}
