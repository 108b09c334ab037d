#!/usr/bin/env node
// Builds the native addon when phpasync is installed as a package (`npm install phpasync` or a
// tarball), with the same rules as build.sh: PHP_CONFIG names the PHP, else the first
// php-config on PATH; it must have the embed library (libphp*.so). In a checkout (tsconfig.json
// is there) build.sh builds the addon, so this does nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stderr.write(`phpasync install: ${msg}\n`);
const fail = (msg) => {
  say(msg);
  process.exit(1);
};

if (fs.existsSync(path.join(root, 'tsconfig.json'))) {
  say('a checkout, not a package: ./build.sh builds the addon');
  process.exit(0);
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function findPhpConfig() {
  const chosen = process.env.PHP_CONFIG;
  if (chosen !== undefined && chosen !== '') {
    const file = chosen.includes('/') ? path.resolve(chosen) : onPath(chosen);
    if (file === undefined || !fs.existsSync(file)) fail(`PHP_CONFIG=${chosen} is not an executable php-config`);
    return file;
  }
  for (const name of ['php-config', 'php-config8.4', 'php-config8.3', 'php-config8.2', 'php-config8.1']) {
    const file = onPath(name);
    if (file !== undefined) return file;
  }
  return fail(
    "no php-config found: install PHP's development files and embed SAPI " +
      '(Debian: apt-get install php-dev libphp-embed) or set PHP_CONFIG=/path/to/php-config',
  );
}

function phpConfig(file, flag) {
  const r = spawnSync(file, [flag], { encoding: 'utf8' });
  if (r.status !== 0) fail(`${file} ${flag} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout.trim();
}

function hasEmbedLib(prefix) {
  const dirs = [path.join(prefix, 'lib'), path.join(prefix, 'lib64')];
  const libDir = path.join(prefix, 'lib');
  if (fs.existsSync(libDir)) {
    for (const sub of fs.readdirSync(libDir)) dirs.push(path.join(libDir, sub));
  }
  return dirs.some((d) => {
    try {
      return fs.readdirSync(d).some((f) => /^libphp.*\.so$/.test(f));
    } catch {
      return false;
    }
  });
}

const phpc = findPhpConfig();
const version = phpConfig(phpc, '--version');
if (Number(phpConfig(phpc, '--vernum')) < 80100) fail(`PHP ${version} is too old: phpasync needs PHP >= 8.1 (${phpc})`);
if (!hasEmbedLib(phpConfig(phpc, '--prefix'))) {
  fail(`PHP ${version} (${phpc}) has no embed library (libphp*.so): install libphp-embed or build PHP with --enable-embed`);
}
for (const tool of ['cmake', 'g++']) {
  if (onPath(tool) === undefined) fail(`${tool} is needed to build the addon (Debian: apt-get install cmake g++)`);
}

say(`building the native addon against PHP ${version} (${phpc})`);
const cmakeJs = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile', `--CDPHP_CONFIG=${phpc}`, '--log-level', 'error'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (r.status !== 0) fail(`the addon build failed (exit ${r.status ?? r.signal}); the compiler's output is above`);
say('addon built');
