// What a config asks for that the runtime does not do yet, directive by directive. Shared by
// `run` (which refuses to start) and `validate`/`adapt --validate` (which report it) through
// src/cli/runtime.ts; it loads nothing of the server, so `validate` never loads Fastify.

import { ConfigError } from './errors.js';
import type { PhpasyncConfig, SourceLocation } from './model.js';
import { allWorkers, intoRoutes, walkDirectives } from './walk.js';

/** Site directives the runtime can serve today (everything else is refused by name). */
const SUPPORTED_SITE_DIRECTIVES = new Set(['root', 'route', 'rewrite', 'php_server', 'php', 'request_body']);

/** `not supported yet: WHAT (FILE:LINE)`. The message names FILE:LINE itself (where the
 * directive was written), so no location prefix is added on top. */
export function notSupported(what: string, source: SourceLocation): ConfigError {
  return new ConfigError(`${what} (${source.file}:${source.line})`, undefined, 'PHPASYNC_NOT_SUPPORTED');
}

/** What the config asks for that the runtime does not do yet; empty when it can run. */
export function checkRunnable(config: PhpasyncConfig): ConfigError[] {
  const errors: ConfigError[] = [];
  const fp = config.frankenphp;
  if (fp?.maxThreads !== undefined) errors.push(notSupported('frankenphp max_threads', fp.source));

  const workers = allWorkers(config);
  for (const w of workers) {
    if (!w.async) errors.push(notSupported('worker without async (classic worker mode)', w.source));
    if (w.watch.length > 0) errors.push(notSupported('worker watch', w.source));
  }
  if (workers.length === 0) {
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
    // `admin off` agrees with phpasync (there is no admin API); an address does not.
    if (g.admin !== undefined && g.admin !== false) errors.push(notSupported('global option admin <address>', g.source));
  }

  if (config.sites.length > 1) errors.push(notSupported('more than one site block', config.sites[1]!.source));
  for (const site of config.sites) {
    if (site.addresses.length > 1) errors.push(notSupported('more than one address for a site', site.addresses[1]!.source));
    for (const a of site.addresses) if (a.scheme === 'https') errors.push(notSupported('https', a.source));
    if (site.tls) errors.push(notSupported('tls', site.tls.source));
    for (const l of site.logs ?? []) errors.push(notSupported('log', l.source));
    for (const d of walkDirectives(site.directives, intoRoutes)) {
      if (!SUPPORTED_SITE_DIRECTIVES.has(d.name)) errors.push(notSupported(d.name, d.source));
      if (d.name === 'request_body' && d.match) errors.push(notSupported('request_body with a matcher', d.source));
    }
  }
  return errors;
}
