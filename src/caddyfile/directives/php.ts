// FrankenPHP's php_server (PHP + static files + index fallback) and php (PHP only).

import type { PhpConfig, PhpServerConfig } from '../../config/model.js';
import { resolvePath } from '../context.js';
import { boolValue, eachSubdirective, type Line } from '../line.js';
import { parseWorker } from '../worker.js';
import { rawChildren, type DirectiveScope, type HandlerSpec } from './types.js';

function splitArgs(l: Line): string[] {
  l.expectArgs(1, Infinity, 'split <extensions…>');
  return l.args.map((t) => {
    if (!t.text.startsWith('.')) l.fail(`split: '${t.text}' must be an extension starting with '.', such as .php`, t);
    return t.text.toLowerCase();
  });
}

/** root is read first: relative worker files are found under it. */
function blockRoot(line: Line, scope: DirectiveScope): string | undefined {
  const rootLine = (line.block ?? []).find((n) => n.head.text === 'root');
  if (!rootLine || rootLine.args.length !== 1) return undefined;
  return resolvePath(scope.ctx.baseDir, rootLine.args[0]!);
}

export const php_server: HandlerSpec = {
  usage: 'php_server [<matcher>] { root, index, file_server, worker, split, env, resolve_root_symlink }',
  parse(line, d, scope) {
    line.expectArgs(0, 0, this.usage);
    const cfg: PhpServerConfig = {
      index: 'index.php',
      fileServer: true,
      splitPath: ['.php'],
      env: {},
      resolveRootSymlink: true,
      workers: [],
    };
    const root = blockRoot(line, scope);
    const workerBase = root ?? scope.root ?? scope.ctx.baseDir;
    eachSubdirective(line.block, {
      owner: 'php_server',
      handlers: {
        root(l) {
          cfg.root = resolvePath(scope.ctx.baseDir, l.single('root <path>'));
        },
        index(l) {
          const t = l.single('index <file>|off');
          cfg.index = t.text === 'off' ? false : t.text;
        },
        file_server(l) {
          l.expectArgs(0, 1, 'file_server [on|off]');
          cfg.fileServer = l.args[0] ? boolValue(l.args[0], 'file_server') : true;
        },
        worker(l) {
          cfg.workers.push(parseWorker(l, scope.ctx, workerBase));
        },
        split(l) {
          cfg.splitPath = splitArgs(l);
        },
        env(l) {
          l.expectArgs(2, 2, 'env <key> <value>');
          cfg.env[l.args[0]!.text] = l.args[1]!.text;
        },
        resolve_root_symlink(l) {
          l.expectArgs(0, 1, 'resolve_root_symlink [on|off]');
          cfg.resolveRootSymlink = l.args[0] ? boolValue(l.args[0], 'resolve_root_symlink') : true;
        },
      },
      unsupported: ['try_files', 'mercure', 'disable_canonical_uris'],
    });
    d.phpServer = cfg;
    d.children = rawChildren(line.block);
  },
};

export const php: HandlerSpec = {
  usage: 'php [<matcher>] { root, split, env, resolve_root_symlink, worker }',
  parse(line, d, scope) {
    line.expectArgs(0, 0, this.usage);
    const cfg: PhpConfig = { splitPath: ['.php'], env: {}, resolveRootSymlink: true, workers: [] };
    const root = blockRoot(line, scope);
    const workerBase = root ?? scope.root ?? scope.ctx.baseDir;
    eachSubdirective(line.block, {
      owner: 'php',
      handlers: {
        root(l) {
          cfg.root = resolvePath(scope.ctx.baseDir, l.single('root <path>'));
        },
        split(l) {
          cfg.splitPath = splitArgs(l);
        },
        env(l) {
          l.expectArgs(2, 2, 'env <key> <value>');
          cfg.env[l.args[0]!.text] = l.args[1]!.text;
        },
        resolve_root_symlink(l) {
          l.expectArgs(0, 1, 'resolve_root_symlink [on|off]');
          cfg.resolveRootSymlink = l.args[0] ? boolValue(l.args[0], 'resolve_root_symlink') : true;
        },
        worker(l) {
          cfg.workers.push(parseWorker(l, scope.ctx, workerBase));
        },
      },
    });
    d.php = cfg;
    d.children = rawChildren(line.block);
  },
};
