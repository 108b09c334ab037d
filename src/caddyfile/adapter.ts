// Parsed lines → PhpasyncConfig: the global options block first, then one SiteConfig per site.

import type { PhpasyncConfig, SourceLocation, WorkerConfig } from '../config/model.js';
import { allWorkers } from '../config/walk.js';
import { ConfigError } from '../config/errors.js';
import { formatAddress } from './addresses.js';
import type { AdaptContext } from './context.js';
import { parseGlobalBlock } from './global.js';
import { DirectiveOrder } from './order.js';
import { isGlobalBlock, type Node } from './parser.js';
import { parseSite } from './site.js';

export function adaptNodes(nodes: Node[], ctx: AdaptContext): PhpasyncConfig {
  const config: PhpasyncConfig = { configFile: ctx.configFile, sites: [] };
  const order = new DirectiveOrder();
  let ports = { httpPort: 80, httpsPort: 443 };
  let numThreadsAt: SourceLocation | undefined;

  nodes.forEach((node, i) => {
    if (!isGlobalBlock(node)) return;
    if (i !== 0) {
      throw new ConfigError('the global options block must be the first block in the Caddyfile', node.head.loc);
    }
    const { global, frankenphp, numThreadsAt: at } = parseGlobalBlock(node, ctx, order);
    numThreadsAt = at;
    config.global = global;
    if (frankenphp) config.frankenphp = frankenphp;
    ports = { httpPort: global.httpPort ?? 80, httpsPort: global.httpsPort ?? 443 };
  });

  const seen = new Map<string, string>();
  for (const node of nodes) {
    if (isGlobalBlock(node)) continue;
    if (!node.block) {
      throw new ConfigError(
        `expected a site block: '${node.head.text}' must be followed by '{' (or be the only site, on the first line)`,
        node.head.loc,
      );
    }
    const site = parseSite(node, ctx, order, ports);
    for (const a of site.addresses) {
      const key = formatAddress(a);
      const prev = seen.get(key);
      if (prev) throw new ConfigError(`ambiguous site definition: ${key} is also defined at ${prev}`, a.source);
      seen.set(key, `${a.source.file}:${a.source.line}:${a.source.column}`);
    }
    config.sites.push(site);
  }
  checkWorkers(config, numThreadsAt);
  // Keys in reading order for `adapt` output.
  const { configFile, global, frankenphp, sites } = config;
  return {
    configFile,
    ...(global ? { global } : {}),
    ...(frankenphp ? { frankenphp } : {}),
    sites,
  };
}

/** FrankenPHP's rules: worker threads fit in num_threads; names are unique. */
function checkWorkers(config: PhpasyncConfig, numThreadsAt: SourceLocation | undefined): void {
  const workers = allWorkers(config);
  const fp = config.frankenphp;
  const threads = workers.reduce((n, w) => n + w.num, 0);
  if (fp?.numThreads !== undefined && fp.numThreads < threads) {
    throw new ConfigError(
      `frankenphp: num_threads (${fp.numThreads}) must be at least the number of worker threads (${threads})`,
      numThreadsAt ?? fp.source,
    );
  }
  const names = new Map<string, WorkerConfig>();
  for (const w of workers) {
    if (w.name === undefined) continue;
    const prev = names.get(w.name);
    if (prev) {
      const p = prev.source;
      throw new ConfigError(`worker name '${w.name}' is already used at ${p.file}:${p.line}:${p.column}`, w.source);
    }
    names.set(w.name, w);
  }
}
