// Checks on the files a config points at. The adapter does not touch the disk beyond imports
// (so `adapt` works anywhere); `validate` and `run` call this before starting anything.

import fs from 'node:fs';
import { ConfigError } from './errors.js';
import type { PhpasyncConfig, SourceLocation, WorkerConfig } from './model.js';
import { walkDirectives } from './walk.js';

function exists(p: string, kind: 'file' | 'dir'): boolean {
  try {
    const st = fs.statSync(p);
    return kind === 'file' ? st.isFile() : st.isDirectory();
  } catch {
    return false;
  }
}

/** Paths that start with a placeholder are only known per request. */
function dynamic(p: string): boolean {
  return p.includes('{');
}

export function checkFiles(config: PhpasyncConfig): ConfigError[] {
  const errors: ConfigError[] = [];
  const need = (p: string | undefined, kind: 'file' | 'dir', what: string, loc: SourceLocation): void => {
    if (p === undefined || dynamic(p) || exists(p, kind)) return;
    errors.push(new ConfigError(`${what} not found: ${p}`, loc));
  };
  const worker = (w: WorkerConfig): void => need(w.file, 'file', 'worker file', w.source);
  config.frankenphp?.workers.forEach(worker);
  for (const site of config.sites) {
    for (const d of walkDirectives(site.directives)) {
      need(d.root, 'dir', 'root directory', d.source);
      need(d.phpServer?.root, 'dir', 'php_server root', d.source);
      need(d.php?.root, 'dir', 'php root', d.source);
      need(d.fileServer?.root, 'dir', 'file_server root', d.source);
      d.phpServer?.workers.forEach(worker);
      d.php?.workers.forEach(worker);
    }
    if (site.tls) {
      need(site.tls.certFile, 'file', 'tls certificate', site.tls.source);
      need(site.tls.keyFile, 'file', 'tls key', site.tls.source);
    }
  }
  return errors;
}
