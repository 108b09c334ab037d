// The one traversal of a config's directives and workers, used by every check, the adapter
// and the server: pre-order, in the order Caddy would run the directives.

import type { DirectiveConfig, PhpasyncConfig, WorkerConfig } from './model.js';

/** Every directive of `list` and, where `into(d)` says so, of its children, parents first. */
export function* walkDirectives(
  list: readonly DirectiveConfig[],
  into: (d: DirectiveConfig) => boolean = () => true,
): Generator<DirectiveConfig> {
  for (const d of list) {
    yield d;
    if (into(d)) yield* walkDirectives(d.children, into);
  }
}

/** Into `route` blocks: what applies site-wide (file server, encode, request_body). Directives in
 * handle/handle_path blocks are run per request by src/server/routes.ts. */
export const intoRoutes = (d: DirectiveConfig): boolean => d.name === 'route';

/** Every directive of every site, nested ones included. */
export function* allDirectives(config: PhpasyncConfig): Generator<DirectiveConfig> {
  for (const site of config.sites) yield* walkDirectives(site.directives);
}

/** Every worker of the config: the global `frankenphp` block's first, then those declared inside
 * php_server/php blocks, in directive order. */
export function allWorkers(config: PhpasyncConfig): WorkerConfig[] {
  const workers = [...(config.frankenphp?.workers ?? [])];
  for (const d of allDirectives(config)) workers.push(...(d.phpServer?.workers ?? []), ...(d.php?.workers ?? []));
  return workers;
}
