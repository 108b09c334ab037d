// A classic worker's document root: the root of the site that runs PHP (php_server's or php's,
// else the site's, else Caddy's default, the current directory), as FrankenPHP gives a
// worker's requests their DOCUMENT_ROOT, and SCRIPT_NAME is the worker file under it.
import fs from 'node:fs/promises';

import type { PhpasyncConfig } from '../config/model.js';
import { intoRoutes, walkDirectives } from '../config/walk.js';

export async function workerDocumentRoot(config: PhpasyncConfig): Promise<string> {
  for (const site of config.sites) {
    for (const d of walkDirectives(site.directives, intoRoutes)) {
      const cfg = d.phpServer ?? d.php;
      if (!cfg) continue;
      const root = cfg.root ?? site.root ?? process.cwd();
      // resolve_root_symlink (on by default): the real path, as classic scripts get it.
      return cfg.resolveRootSymlink ? fs.realpath(root).catch(() => root) : root;
    }
  }
  const root = config.sites[0]?.root ?? process.cwd();
  return fs.realpath(root).catch(() => root);
}
