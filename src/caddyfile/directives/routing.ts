// root, route, handle, handle_path: where files live and how requests flow through blocks.

import type { HandlerSpec } from './types.js';
import { resolvePath } from '../context.js';

export const root: HandlerSpec = {
  usage: 'root [<matcher>] <path>',
  parse(line, d, scope) {
    line.noBlock(this.usage);
    const t = line.single(this.usage);
    d.root = resolvePath(scope.ctx.baseDir, t);
  },
};

export const route: HandlerSpec = {
  usage: 'route [<matcher>] { <directives…> }',
  parse(line, d, scope) {
    line.expectArgs(0, 0, this.usage);
    const block = line.block ?? line.fail(`route needs a block; usage: ${this.usage}`);
    d.children = scope.parseBlock(block, false);
  },
};

export const handle: HandlerSpec = {
  usage: 'handle [<matcher>] { <directives…> }',
  parse(line, d, scope) {
    line.expectArgs(0, 0, this.usage);
    const block = line.block ?? line.fail(`handle needs a block; usage: ${this.usage}`);
    d.children = scope.parseBlock(block, true);
  },
};

export const handle_path: HandlerSpec = {
  usage: 'handle_path <path_matcher> { <directives…> }',
  parse(line, d, scope) {
    line.expectArgs(0, 0, this.usage);
    const matcher = d.matcher?.startsWith('/')
      ? d.matcher
      : line.fail(`handle_path needs a path matcher such as /api/*; usage: ${this.usage}`);
    const block = line.block ?? line.fail(`handle_path needs a block; usage: ${this.usage}`);
    d.stripPrefix = matcher.replace(/\*$/, '').replace(/\/$/, '') || '/';
    d.children = scope.parseBlock(block, true);
  },
};
