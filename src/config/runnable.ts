// What a config asks for that the runtime does not do yet, directive by directive. Shared by
// `run` (which refuses to start) and `validate`/`adapt --validate` (which report it) through
// src/cli/runtime.ts; it loads nothing of the server, so `validate` never loads Fastify.

import { parseAdminAddress } from './admin-address.js';
import { ConfigError } from './errors.js';
import { directivePlaceholderProblem, matcherProblem, SITE_WIDE, walkScoped } from './front-checks.js';
import { placeholderProblem } from './responder-checks.js';
import type { PhpasyncConfig, SourceLocation } from './model.js';
import { allDirectives, allWorkers } from './walk.js';
import { matchesEveryPath } from './worker-match.js';

/** Site directives the runtime can serve today (everything else is refused by name). */
const SUPPORTED_SITE_DIRECTIVES = new Set(['root', 'route', 'rewrite', 'uri', 'header', 'handle', 'handle_path', 'reverse_proxy', 'php_server', 'php', 'request_body', 'file_server', 'encode', 'respond', 'redir']);

/** `not supported yet: WHAT (FILE:LINE)`. The message names FILE:LINE itself (where the
 * directive was written), so no location prefix is added on top. */
export function notSupported(what: string, source: SourceLocation): ConfigError {
  return new ConfigError(`${what} (${source.file}:${source.line})`, undefined, 'PHPASYNC_NOT_SUPPORTED');
}

/** PHP threads of a config without a worker that runs classic scripts (frankenphp num_threads,
 * default 1); undefined when it has a worker or nothing to run. On an NTS PHP they are
 * processes, as a worker's `num` is (src/supervisor/plan.ts). */
export function classicThreads(config: PhpasyncConfig): number | undefined {
  if (allWorkers(config).length > 0 || ![...allDirectives(config)].some((d) => d.phpServer || d.php)) return undefined;
  return config.frankenphp?.numThreads ?? 1;
}

/** Classic-scripts processes next to the worker, when a php_server/php site can reach classic
 * scripts (the worker's match does not take every path): num_threads minus the worker's
 * threads, as FrankenPHP splits num_threads, and at least one; 1 without num_threads. Each
 * process that serves HTTP starts that many (src/server/scripts-pool.ts). */
export function mixedClassicProcesses(config: PhpasyncConfig): number | undefined {
  const worker = allWorkers(config)[0];
  if (!worker || matchesEveryPath(worker.match) || ![...allDirectives(config)].some((d) => d.phpServer || d.php)) return undefined;
  const n = config.frankenphp?.numThreads;
  return n === undefined ? 1 : Math.max(1, n - worker.num);
}

/** What the config asks for that the runtime does not do yet; empty when it can run. */
export function checkRunnable(config: PhpasyncConfig): ConfigError[] {
  const errors: ConfigError[] = [];
  const fp = config.frankenphp;
  if (fp?.maxThreads !== undefined) errors.push(notSupported('frankenphp max_threads', fp.source));

  const workers = allWorkers(config);
  for (const w of workers) {
    if (!w.async && w.maxCoroutines !== undefined) {
      errors.push(new ConfigError('worker max_coroutines applies to async workers: a classic worker (no async) serves one request at a time per thread', w.source));
    }
  }
  // No worker: the php_server/php sites run classic scripts (src/server/scripts.ts).
  const scripts = workers.length === 0 && [...allDirectives(config)].some((d) => d.phpServer || d.php);
  if (workers.length === 0 && !scripts) {
    errors.push(new ConfigError(config.configFile, undefined, 'PHPASYNC_NO_ASYNC_WORKER'));
  }
  if (workers.length > 1) errors.push(notSupported('more than one worker', workers[1]!.source));

  const g = config.global;
  if (g) {
    const unsupported: [keyof typeof g, string][] = [
      ['httpPort', 'http_port'],
      ['httpsPort', 'https_port'],
      ['autoHttps', 'auto_https'],
      ['shutdownDelayMs', 'shutdown_delay'],
      ['log', 'log'],
    ];
    for (const [key, name] of unsupported) if (g[key] !== undefined) errors.push(notSupported(`global option ${name}`, g.source));
    const p = g.protocols;
    if (p?.includes('h3')) errors.push(notSupported('servers protocols h3 (HTTP/3)', g.source));
    if (p && !p.includes('h1')) errors.push(notSupported('servers protocols without h1', g.source));
    if (p && !p.includes('h2') && config.sites.some((s) => s.tls)) errors.push(notSupported('servers protocols without h2 on https sites', g.source));
    // The admin address serves probes and metrics (src/server/admin.ts), no config API.
    if (typeof g.admin === 'string' && !parseAdminAddress(g.admin)) {
      errors.push(notSupported(`global option admin ${g.admin} (phpasync takes host:port or :port)`, g.source));
    }
    if (g.metrics && g.admin === false) {
      errors.push(new ConfigError('metrics are served on the admin endpoint: remove "admin off" (or metrics)', g.source));
    }
  }

  const schemes = new Set(config.sites.flatMap((s) => s.addresses.map((a) => a.scheme)));
  if (schemes.size > 1) {
    const https = config.sites.flatMap((s) => s.addresses).find((a) => a.scheme === 'https')!;
    errors.push(notSupported('http and https sites in one config (one server serves one scheme)', https.source));
  }
  for (const site of config.sites) {
    const https = site.addresses.find((a) => a.scheme === 'https');
    if (site.tls?.internal) errors.push(notSupported('tls internal (a locally issued certificate); give tls <cert_file> <key_file>', site.tls.source));
    else if (site.tls?.email !== undefined) errors.push(notSupported('automatic HTTPS (ACME certificates, tls <email>); give tls <cert_file> <key_file>', site.tls.source));
    else if (https && !site.tls) errors.push(notSupported('automatic HTTPS (ACME certificates); give the site tls <cert_file> <key_file>', https.source));
    for (const l of site.logs ?? []) if (l.format === 'console') errors.push(notSupported('log format console (access logs are written as JSON lines)', l.source));
    const seen = new Set<string>();
    for (const { d, inHandle } of walkScoped(site.directives)) {
      if (!SUPPORTED_SITE_DIRECTIVES.has(d.name)) errors.push(notSupported(d.name, d.source));
      const why = matcherProblem(d.match);
      if (why) errors.push(notSupported(`${d.name} with a ${why}`, d.source));
      if (inHandle && SITE_WIDE.has(d.name)) errors.push(notSupported(`${d.name} inside handle/handle_path (it applies to the whole site: write it at the top of the site)`, d.source));
      if (inHandle && d.phpServer?.fileServer) {
        errors.push(notSupported("php_server's file server inside handle/handle_path (write file_server off in it, and a file_server of its own where files are served)", d.source));
      }
      if (d.name === 'request_body' && d.match) errors.push(notSupported('request_body with a matcher', d.source));
      // One file server and one encoder per site, for every request of it (a file_server in a
      // handle block is that block's own, src/server/routes.ts).
      const siteWide = d.name === 'encode' || (d.name === 'file_server' && !inHandle);
      if (siteWide && d.matcher !== undefined && d.matcher !== '*') {
        errors.push(notSupported(`${d.name} with a matcher`, d.source));
      }
      if (siteWide) {
        if (seen.has(d.name)) errors.push(notSupported(`a second ${d.name} in a site`, d.source));
        seen.add(d.name);
      }
      if (d.respond || d.redir) {
        const text = d.respond?.body ?? d.redir?.to ?? '';
        const ph = placeholderProblem(text);
        if (ph) errors.push(notSupported(`${d.name} ${ph}`, d.source));
      }
      const ph = directivePlaceholderProblem(d);
      if (ph) errors.push(notSupported(`${d.name} ${ph}`, d.source));
      for (const f of d.encode?.formats ?? []) {
        if (f.name === 'zstd') errors.push(notSupported("encode zstd (Node 20's zlib has no zstd; use gzip or br)", d.source));
      }
    }
  }
  return errors;
}
