// Caddy's request matchers (a `MatcherConfig`) evaluated on a request whose URI may have been
// rewritten: kinds are ANDed, the values of one kind ORed, `not` negates its sets. Paths use
// the worker match's rules (src/config/worker-match.ts); what those cannot evaluate is refused
// before the server starts (matcherProblem in src/config/front-checks.ts).
import type { IncomingMessage } from 'node:http';

import type { MatcherConfig } from '../config/model.js';
import { compileWorkerMatch } from '../config/worker-match.js';

/** A compiled matcher: the request and its current URI (after rewrites). */
export type RequestTest = (req: IncomingMessage, uri: string) => boolean;

/** `*` in header and query values: a wildcard over the rest (Caddy's header matcher rule). */
function valueTest(pattern: string): (v: string) => boolean {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (v) => v === pattern;
  const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 's');
  return (v) => re.test(v);
}

function pathOnly(uri: string): string {
  const q = uri.search(/[?#]/);
  return q < 0 ? uri : uri.slice(0, q);
}

function hostOf(req: IncomingMessage): string {
  const h = req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '';
  return h.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

export function compileMatcher(m: MatcherConfig): RequestTest {
  const tests: RequestTest[] = [];
  if (m.path) {
    const t = compileWorkerMatch(m.path);
    if (t) tests.push((_req, uri) => t(uri));
  }
  if (m.pathRegexp) {
    const re = new RegExp(m.pathRegexp.pattern, m.pathRegexp.flags);
    tests.push((_req, uri) => re.test(pathOnly(uri)));
  }
  if (m.method) {
    const methods = new Set(m.method);
    tests.push((req) => methods.has(req.method ?? 'GET'));
  }
  for (const [field, values] of Object.entries(m.header ?? {})) {
    const name = field.toLowerCase();
    const vt = values.map(valueTest);
    tests.push((req) => {
      const got = req.headers[name];
      if (got === undefined) return false;
      const list = Array.isArray(got) ? got : [got];
      return list.some((v) => vt.some((t) => t(v)));
    });
  }
  for (const field of m.headerAbsent ?? []) {
    const name = field.toLowerCase();
    tests.push((req) => req.headers[name] === undefined);
  }
  if (m.query) {
    const wanted = Object.entries(m.query).map(([k, vs]) => [k, vs.map(valueTest)] as const);
    tests.push((_req, uri) => {
      const q = uri.indexOf('?');
      const params = new URLSearchParams(q < 0 ? '' : uri.slice(q + 1));
      // Caddy ORs the key=value pairs of one query matcher.
      return wanted.some(([k, vts]) => params.getAll(k).some((v) => vts.some((t) => t(v))));
    });
  }
  if (m.host) {
    const hosts = m.host.map((h) => (h.startsWith('*.') ? (v: string) => v.endsWith(h.slice(1)) && !v.slice(0, -h.length + 1).includes('.') : (v: string) => v === h));
    tests.push((req) => {
      const h = hostOf(req);
      return hosts.some((t) => t(h));
    });
  }
  for (const n of m.not ?? []) {
    const t = compileMatcher(n);
    tests.push((req, uri) => !t(req, uri));
  }
  if (tests.length === 1) return tests[0]!;
  return (req, uri) => tests.every((t) => t(req, uri));
}
