// What answers a request before PHP does: static files (`file_server`, php_server's built-in
// file server) and the site's `encode`. Decided once from the config, so that a site whose
// worker takes every path (`match *`) gets no per-request work at all.
//
// Routing, as FrankenPHP does it for one worker:
//   worker `match *`        every request goes to PHP (a file server is never reached);
//   worker `match /api/*`   matching paths go to PHP, the others to the file server (or 404);
//   worker without `match`  (php_server with its file server on) an existing non-PHP file is
//                           sent; anything else goes to the worker, as php_server's index
//                           fallback does when the worker file is its index.
// Next to a worker, a php_server/php site's requests the worker's match does not take, whose
// path names an existing .php file other than the worker file ({path} split at .php, or
// {path}/index.php), are classic scripts: run by classic-scripts processes
// (src/server/scripts-pool.ts); the root's index.php fallback stays the worker's. Without a
// worker the site serves classic scripts (src/server/scripts.ts decides what runs).
import fs from 'node:fs';
import path from 'node:path';

import type { FastifyBaseLogger, FastifyReply, onRequestHookHandler } from 'fastify';

import type { DirectiveConfig, SiteConfig, WorkerConfig } from '../config/model.js';
import { intoRoutes, walkDirectives } from '../config/walk.js';
import { compileWorkerMatch, matchesEveryPath } from '../config/worker-match.js';
import { ResponseEncoder } from './encode.js';
import { httpAnswer, type HttpAnswer } from './errors.js';
import { markClassic } from './scripts-pool.js';
import { ClassicScripts, setScript } from './scripts.js';
import { sendPermanentRedirect, StaticFiles, type Resolved } from './static-files.js';

export interface Front {
  /** The onRequest hook, or undefined when every request goes straight to PHP. */
  hook?: onRequestHookHandler;
  encoder?: ResponseEncoder;
  /** Whether the site sends anything to PHP: it has php_server or php, or no file_server
   * (a bare site is the worker's, as phpasync has always run the TrueAsync guide's). */
  php: boolean;
}

const DEFAULT_INDEX = ['index.html', 'index.txt'];

/** The file server of a site: php_server's own (when on), else a `file_server` directive. */
function staticFilesOf(site: SiteConfig, configFile: string): StaticFiles | undefined {
  const dirs = [...walkDirectives(site.directives, intoRoutes)];
  const phpServer = dirs.find((d) => d.phpServer)?.phpServer;
  const fileServer: DirectiveConfig | undefined = dirs.find((d) => d.name === 'file_server');
  // Caddy's default root is the current directory.
  if (phpServer?.fileServer) {
    return new StaticFiles({
      root: phpServer.root ?? site.root ?? process.cwd(),
      index: [],
      hide: [configFile],
      precompressed: [],
      phpExtensions: phpServer.splitPath,
      // try_files {path} {path}/index.php index.php: a directory goes to PHP, the index.
      directories: false,
    });
  }
  const fsc = fileServer?.fileServer;
  if (!fsc) return undefined;
  return new StaticFiles({
    root: fsc.root ?? site.root ?? process.cwd(),
    index: fsc.index,
    // Caddy hides the Caddyfile itself from its file server.
    hide: [configFile, ...(fsc.hide ?? [])],
    precompressed: fsc.precompressed ?? [],
    phpExtensions: ['.php'],
  });
}

export function encoderOf(site: SiteConfig): ResponseEncoder | undefined {
  const d = [...walkDirectives(site.directives, intoRoutes)].find((x) => x.name === 'encode');
  return d?.encode ? new ResponseEncoder(d.encode) : undefined;
}

/** The site's front: its worker's file server and PHP, or, without a worker, its classic
 * scripts. What a request reaches once src/server/routes.ts has run the site's other directives.
 * classic: next to the worker, the site's classic scripts run elsewhere (the site's index in
 * config.sites); absent, they are refused. */
export function siteFront(site: SiteConfig, configFile: string, worker: WorkerConfig | undefined, log: FastifyBaseLogger, classic?: { site: number }): Front {
  return worker ? filesFront(site, configFile, worker, log, classic) : scriptsFront(site, configFile, log);
}

/** The site's file server and PHP: what a request reaches once src/server/routes.ts has run
 * the site's other directives. */
export function filesFront(site: SiteConfig, configFile: string, worker: WorkerConfig, log: FastifyBaseLogger, classic?: { site: number }): Front {
  const encoder = encoderOf(site);
  const files = staticFilesOf(site, configFile);
  const dirs = [...walkDirectives(site.directives, intoRoutes)];
  const php = dirs.some((d) => d.phpServer || d.php) || !dirs.some((d) => d.name === 'file_server');
  const base = { php, ...(encoder ? { encoder } : {}) };
  if (php && matchesEveryPath(worker.match)) {
    if (files) log.info({ root: files.root }, `files under ${files.root} are never served: the worker's match takes every path`);
    return base;
  }
  // A site without PHP: its file server answers everything (or 404).
  const workerTakes = php ? compileWorkerMatch(worker.match) : () => false;
  const workerReal = realpathOrSelf(worker.file);

  const answer = fileAnswer(files, encoder, log);
  const notFound = (reply: Parameters<onRequestHookHandler>[1]): void => {
    send(reply, httpAnswer('PHPASYNC_NOT_MATCHED'));
  };
  const isStaticMethod = (m: string | undefined): boolean => m === 'GET' || m === 'HEAD';

  let hook: onRequestHookHandler | undefined;
  if (workerTakes) {
    // `match` with patterns: what it does not take goes to the file server, or is 404.
    hook = (request, reply, done) => {
      const url = request.raw.url ?? '/';
      if (workerTakes(url)) return done();
      if (!files) return notFound(reply);
      if (!isStaticMethod(request.raw.method)) {
        send(reply.header('allow', 'GET, HEAD'), httpAnswer('PHPASYNC_FILE_METHOD'));
        return;
      }
      files.resolve(url).then(
        (r) => answer(reply, phpRefusal(r, classic !== undefined)),
        (err: unknown) => done(err as Error),
      );
    };
  } else if (files) {
    // No `match`: existing files are sent, everything else is the worker's.
    hook = (request, reply, done) => {
      if (!isStaticMethod(request.raw.method)) return done();
      files.resolve(request.raw.url ?? '/').then(
        (r) => {
          if (r.kind === 'file' || r.kind === 'redirect') return answer(reply, r);
          if (r.kind === 'refused' && r.phpScript && r.real === workerReal) return done();
          if (r.kind === 'refused') return answer(reply, phpRefusal(r, classic !== undefined));
          done();
        },
        (err: unknown) => done(err as Error),
      );
    };
  }
  const scripts = php && classic ? classicScriptsOf(site, configFile, false) : undefined;
  if (scripts) {
    // First: is it a classic script? Then what the worker alone would do.
    const inner = hook;
    hook = function (request, reply, done) {
      const url = request.raw.url ?? '/';
      if (workerTakes?.(url)) return done();
      scripts.resolve(url).then(
        (r) => {
          if (r.kind === 'script' && r.real !== workerReal) {
            markClassic(request.raw, r.target, classic!.site);
            return done();
          }
          if (r.kind === 'redirect') {
            reply.hijack();
            return sendPermanentRedirect(reply.raw, r.location);
          }
          if (inner) return inner.call(this, request, reply, done);
          done();
        },
        (err: unknown) => done(err as Error),
      );
    };
  }
  return { ...base, ...(hook ? { hook } : {}) };
}

/** The scripts of a site without a worker: php_server's or php's settings. fallback false:
 * next to a worker (which is the fallback), only {path} and {path}/index.php, no file server. */
export function classicScriptsOf(site: SiteConfig, configFile: string, fallback = true): ClassicScripts | undefined {
  const dirs = [...walkDirectives(site.directives, intoRoutes)];
  const ps = dirs.find((d) => d.phpServer)?.phpServer;
  const php = ps ? undefined : dirs.find((d) => d.php)?.php;
  const cfg = ps ?? php;
  if (!cfg) return undefined;
  const root = cfg.root ?? site.root ?? process.cwd();
  return new ClassicScripts({
    root,
    index: ps ? ps.index : false,
    splitPath: cfg.splitPath.map((e) => e.toLowerCase()),
    resolveRootSymlink: cfg.resolveRootSymlink,
    ...(fallback ? {} : { fallback: false }),
    // php_server's own file server; for `php`, the site's `file_server` if it has one.
    ...(fallback && (ps ? ps.fileServer : dirs.some((d) => d.name === 'file_server')) ? { files: staticFilesOf(site, configFile) } : {}),
  });
}

/** Hands a resolved file to the file server; a failure is logged and answered 500 (or cut). */
function fileAnswer(
  files: StaticFiles | undefined,
  encoder: ResponseEncoder | undefined,
  log: FastifyBaseLogger,
): (reply: Parameters<onRequestHookHandler>[1], resolved: Resolved) => void {
  return (reply, resolved) => {
    reply.hijack();
    files!.serve(reply.request.raw, reply.raw, resolved, encoder).catch((err: unknown) => {
      log.error({ err, reqId: reply.request.id }, 'static file: could not send');
      if (!reply.raw.headersSent) {
        const a = httpAnswer('PHPASYNC_FILE_FAILED');
        reply.raw.writeHead(a.status, { 'Content-Type': 'text/plain; charset=utf-8' });
        reply.raw.end(a.body);
      } else reply.raw.destroy();
    });
  };
}

/** Classic scripts: every request is resolved (scripts.ts); PHP runs the script it names. */
function scriptsFront(site: SiteConfig, configFile: string, log: FastifyBaseLogger): Front {
  const encoder = encoderOf(site);
  const scripts = classicScriptsOf(site, configFile);
  const base = { php: scripts !== undefined, ...(encoder ? { encoder } : {}) };
  const files = staticFilesOf(site, configFile);
  const serve = fileAnswer(files, encoder, log);
  if (!scripts) {
    // A site with a file server only.
    if (!files) return base;
    const hook: onRequestHookHandler = (request, reply, done) => {
      files.resolve(request.raw.url ?? '/').then((r) => serve(reply, r), (err: unknown) => done(err as Error));
    };
    return { ...base, hook };
  }
  const hook: onRequestHookHandler = (request, reply, done) => {
    scripts.resolve(request.raw.url ?? '/').then(
      (r) => {
        switch (r.kind) {
          case 'script':
            setScript(request.raw, r.target);
            return done();
          case 'static':
            if (r.resolved.kind === 'file' && request.raw.method !== 'GET' && request.raw.method !== 'HEAD') {
              return send(reply.header('allow', 'GET, HEAD'), httpAnswer('PHPASYNC_FILE_METHOD'));
            }
            return serve(reply, r.resolved);
          case 'redirect':
            reply.hijack();
            return sendPermanentRedirect(reply.raw, r.location);
          case 'missing':
            return send(reply, httpAnswer('PHPASYNC_NO_FILE'));
          case 'refused':
            return send(reply, httpAnswer(r.code, r.why));
        }
      },
      (err: unknown) => done(err as Error),
    );
  };
  return { ...base, hook };
}

/** An answer of the errors table through Fastify (before the request went anywhere). */
export function send(reply: FastifyReply, a: HttpAnswer): void {
  reply.status(a.status).header('content-type', 'text/plain; charset=utf-8').send(a.body);
}

/** A PHP script the worker does not run: a classic script where the site has none (said so in
 * the 403), or a PHP file reached by a name that is not one (a link): never sent as text. */
function phpRefusal(r: Resolved, classic: boolean): Resolved {
  if (r.kind === 'refused' && r.phpScript) {
    return { ...r, why: classic ? 'PHP files are never sent as text' : 'not supported yet: classic PHP scripts (only the worker runs PHP); PHP files are never sent as text' };
  }
  return r;
}

function realpathOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
