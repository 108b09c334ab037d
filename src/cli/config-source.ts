// Shared by run/adapt/validate: which Caddyfile, with which environment.

import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/errors.js';
import { loadCaddyfile, type AdaptResult } from '../caddyfile/index.js';
import { str, type Options, type Parsed } from './args.js';
import { UsageError } from './report.js';

export const CONFIG_FLAGS: Options = {
  config: { type: 'string', short: 'c' },
  adapter: { type: 'string', short: 'a' },
  envfile: { type: 'string' },
};

export const CONFIG_FLAGS_HELP = `  -c, --config FILE    Caddyfile to read (default: ./Caddyfile)
  -a, --adapter NAME   Config adapter; only "caddyfile" exists
      --envfile FILE   Load KEY=VALUE lines into the environment before reading the config`;

export function loadFromFlags(p: Parsed, command: string): AdaptResult {
  const adapter = str(p, 'adapter');
  if (adapter !== undefined && adapter !== 'caddyfile') {
    throw new UsageError(`${command}: unknown adapter '${adapter}'; phpasync reads Caddyfiles only`);
  }
  const envfile = str(p, 'envfile');
  if (envfile !== undefined) loadEnvFile(envfile);
  const given = str(p, 'config');
  const file = path.resolve(given ?? 'Caddyfile');
  if (given === undefined && !fs.existsSync(file)) {
    throw new ConfigError(`no Caddyfile in ${process.cwd()}; pass one with --config FILE`);
  }
  return loadCaddyfile(file);
}

/** KEY=VALUE per line, `#` comments, optional quotes; existing variables are overwritten as Caddy does. */
export function loadEnvFile(file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read env file ${file}: ${(err as Error).message}`);
  }
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError('expected KEY=VALUE', { file: path.resolve(file), line: i + 1, column: 1 });
    let value = m[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    process.env[m[1]!] = value;
  });
}
