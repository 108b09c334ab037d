// The Caddyfile adapter's entry points: text or file in, PhpasyncConfig out.

import fs from 'node:fs';
import path from 'node:path';
import type { PhpasyncConfig } from '../config/model.js';
import { ConfigError } from '../config/errors.js';
import { adaptNodes } from './adapter.js';
import { loadNodes } from './imports.js';

export interface AdaptOptions {
  /** Environment for {$VAR}; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

export interface AdaptResult {
  config: PhpasyncConfig;
  /** Things worth telling the user that do not stop the config (e.g. a glob matching nothing). */
  warnings: string[];
}

/** Adapts Caddyfile text; `file` names it in errors and anchors relative paths. */
export function adaptCaddyfile(text: string, file: string, opts: AdaptOptions = {}): AdaptResult {
  const configFile = path.resolve(file);
  const warnings: string[] = [];
  const lex = opts.env ? { env: opts.env } : {};
  const nodes = loadNodes(text, configFile, lex, warnings);
  const config = adaptNodes(nodes, { configFile, baseDir: path.dirname(configFile), warnings });
  return { config, warnings };
}

export function loadCaddyfile(file: string, opts: AdaptOptions = {}): AdaptResult {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `config file not found: ${abs}` : `cannot read ${abs}: ${(err as Error).message}`);
  }
  return adaptCaddyfile(text, abs, opts);
}

export { ConfigError };
