// A site's directives run per request in Caddy's order (the adapter sorted them): rewrite and
// uri change the URI later directives see, header changes the response, handle blocks are
// mutually exclusive (the first whose matcher matches runs), handle_path strips its prefix,
// route keeps its written order, and the first terminal handler answers (respond, redir,
// reverse_proxy, a file_server inside a handle block). What reaches no terminal, or reaches the
// site's php_server/php/top-level file_server, goes on to the site's front (src/server/front.ts:
// static files and PHP) with the rewritten URI. A site without any of these directives keeps the
// front alone: no per-request work is added to its PHP path.
import type { IncomingMessage } from 'node:http';

import type { FastifyBaseLogger, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';

import type { DirectiveConfig, SiteConfig } from '../config/model.js';
import { walkDirectives } from '../config/walk.js';
import { httpAnswer } from './errors.js';
import { send, type Front } from './front.js';
import { compileHeader } from './header-directive.js';
import { compileMatcher, type RequestTest } from './request-match.js';
import { respondersOf } from './responders.js';
import { rewriteUri, uriOperation } from './rewrite.js';
import { StaticFiles } from './static-files.js';

/** The URI as the site's directives left it, on requests they rewrote (PHP gets req.url, the
 * client's): for what maps a URI to a file on PHP's side (classic scripts). */
export const ROUTED_URI = Symbol('phpasync.routedUri');

/** The URI the site's routing ended with (the client's when nothing rewrote it). */
export function routedUri(req: IncomingMessage): string {
  return (req as IncomingMessage & { [ROUTED_URI]?: string })[ROUTED_URI] ?? req.url ?? '/';
}

/** What a request carries through the directives. */
export interface RouteState {
  request: FastifyRequest;
  reply: FastifyReply;
  req: IncomingMessage;
  /** The URI as rewritten so far. */
  uri: string;
  scheme: string;
  /** The root set by a `root` met on the way (for a nested file_server). */
  root?: string;
}

/** continue: on to the next directive; front: to the site's files/PHP; answered: done. */
type Outcome = 'continue' | 'front' | 'answered';

interface Step {
  test?: RequestTest;
  group?: string;
  run(s: RouteState): Outcome;
}

/** A terminal handler built elsewhere (reverse_proxy): it answers the request itself. */
export type TerminalFactory = (d: DirectiveConfig) => ((s: RouteState) => void) | undefined;

/** Directives that make a site need the per-request run. */
const ROUTED = new Set(['rewrite', 'uri', 'header', 'handle', 'handle_path', 'respond', 'redir', 'reverse_proxy']);
const NESTING = new Set(['route', 'handle', 'handle_path']);

interface Compiler {
  site: SiteConfig;
  configFile: string;
  front: Front;
  log: FastifyBaseLogger;
  terminal?: TerminalFactory;
  files: Map<string, StaticFiles>;
}

function run(steps: Step[], s: RouteState): Outcome {
  let taken: Set<string> | undefined;
  for (const step of steps) {
    if (step.group !== undefined && taken?.has(step.group)) continue;
    if (step.test && !step.test(s.req, s.uri)) continue;
    if (step.group !== undefined) (taken ??= new Set()).add(step.group);
    const out = step.run(s);
    if (out !== 'continue') return out;
  }
  return 'continue';
}

function compile(list: readonly DirectiveConfig[], c: Compiler, nested: boolean): Step[] {
  const steps: Step[] = [];
  for (const d of list) {
    const run = compileOne(d, c, nested);
    if (!run) continue;
    steps.push({ ...(d.match ? { test: compileMatcher(d.match) } : {}), ...(d.group !== undefined ? { group: d.group } : {}), run });
  }
  return steps;
}

function compileOne(d: DirectiveConfig, c: Compiler, nested: boolean): Step['run'] | undefined {
  if (d.rewrite) {
    const to = d.rewrite.to;
    return (s) => {
      s.uri = rewriteUri(to, s.uri, s.req, s.scheme);
      return 'continue';
    };
  }
  if (d.uri) {
    const op = uriOperation(d.uri);
    return (s) => {
      s.uri = op(s.uri, s.req, s.scheme);
      return 'continue';
    };
  }
  if (d.header) {
    const h = compileHeader(d.header);
    return (s) => {
      h.apply(s.req, s.reply.raw, s.scheme);
      return 'continue';
    };
  }
  if (d.name === 'root' && d.root) {
    const root = d.root;
    return (s) => {
      s.root = root;
      return 'continue';
    };
  }
  if (d.name === 'route' || d.name === 'handle' || d.name === 'handle_path') {
    const inner = compile(d.children, c, nested || d.name !== 'route');
    const prefix = d.stripPrefix;
    return (s) => {
      if (prefix !== undefined && prefix !== '/') {
        const q = s.uri.search(/[?#]/);
        const path = q < 0 ? s.uri : s.uri.slice(0, q);
        if (path.toLowerCase().startsWith(prefix.toLowerCase())) {
          const rest = s.uri.slice(prefix.length);
          s.uri = rest.startsWith('/') ? rest : '/' + rest;
        }
      }
      return run(inner, s);
    };
  }
  if (d.respond || d.redir) {
    const r = respondersOf([d])[0]!;
    return (s) => {
      // Their placeholders read the URI as rewritten so far.
      s.req.url = s.uri;
      r.answer(s.req, s.reply);
      return 'answered';
    };
  }
  const t = c.terminal?.(d);
  if (t) {
    return (s) => {
      t(s);
      return 'answered';
    };
  }
  if (d.fileServer && nested) return nestedFiles(d, c);
  if (d.phpServer || d.php || d.name === 'file_server') return () => 'front';
  return undefined;
}

/** A file_server inside handle/handle_path: it serves under the root in scope, or answers 404. */
function nestedFiles(d: DirectiveConfig, c: Compiler): Step['run'] {
  const fsc = d.fileServer!;
  const filesAt = (root: string): StaticFiles => {
    let f = c.files.get(root);
    if (!f) {
      f = new StaticFiles({ root, index: fsc.index, hide: [c.configFile, ...(fsc.hide ?? [])], precompressed: fsc.precompressed ?? [], phpExtensions: ['.php'] });
      c.files.set(root, f);
    }
    return f;
  };
  return (s) => {
    const files = filesAt(fsc.root ?? s.root ?? c.site.root ?? process.cwd());
    const { reply, req } = s;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(reply.header('allow', 'GET, HEAD'), httpAnswer('PHPASYNC_FILE_METHOD'));
      return 'answered';
    }
    reply.hijack();
    files
      .resolve(s.uri)
      .then((r) => files.serve(req, reply.raw, r.kind === 'refused' && r.phpScript ? { ...r, why: 'PHP files are never sent as text' } : r, c.front.encoder))
      .catch((err: unknown) => {
        c.log.error({ err, reqId: s.request.id }, 'static file: could not send');
        if (!reply.raw.headersSent) {
          const a = httpAnswer('PHPASYNC_FILE_FAILED');
          reply.raw.writeHead(a.status, { 'Content-Type': 'text/plain; charset=utf-8' });
          reply.raw.end(a.body);
        } else reply.raw.destroy();
      });
    return 'answered';
  };
}

/** The site's front (its files and PHP) with its directives run first, or the front alone when
 * it has none of them. */
export function buildRoutes(site: SiteConfig, configFile: string, front: Front, log: FastifyBaseLogger, terminal?: TerminalFactory): Front {
  const all = [...walkDirectives(site.directives, (d) => NESTING.has(d.name))];
  const nestedFs = site.directives.some((d) => d.name !== 'route' && NESTING.has(d.name) && [...walkDirectives(d.children)].some((x) => x.name === 'file_server'));
  if (!all.some((d) => ROUTED.has(d.name)) && !nestedFs) return front;
  const steps = compile(site.directives, { site, configFile, front, log, ...(terminal ? { terminal } : {}), files: new Map() }, false);
  const hook: onRequestHookHandler = function (request, reply, done) {
    const req = request.raw;
    const original = req.url ?? '/';
    const s: RouteState = { request, reply, req, uri: original, scheme: request.protocol };
    if (run(steps, s) === 'answered') return;
    let next = done;
    if (s.uri !== original) {
      req.url = s.uri;
      (req as IncomingMessage & { [ROUTED_URI]?: string })[ROUTED_URI] = s.uri;
      // PHP gets the URI the client sent (REQUEST_URI); the routing above used the rewritten one.
      next = ((err?: Error) => {
        req.url = original;
        done(err);
      }) as typeof done;
    }
    if (front.hook) return front.hook.call(this, request, reply, next);
    if (front.php) return next();
    send(reply, httpAnswer('PHPASYNC_NOT_MATCHED'));
  };
  return { ...front, hook };
}
