import type { DirectiveConfig } from '../../config/model.js';
import type { AdaptContext } from '../context.js';
import type { Line } from '../line.js';
import type { MatcherScope } from '../matchers.js';
import type { Node } from '../parser.js';

/** Where a directive is being read: its site, matchers in scope, the root for relative files. */
export interface DirectiveScope {
  ctx: AdaptContext;
  matchers: MatcherScope;
  /** The site's root (absolute), when set with `root` without a matcher. */
  root?: string;
  /** Reads a nested block of directives (route: written order, handle: Caddy's order). */
  parseBlock(block: Node[], sorted: boolean): DirectiveConfig[];
}

export interface HandlerSpec {
  usage: string;
  /** false: the first argument is never a matcher (default: it may be). */
  matcher?: boolean;
  /**
   * Reads the directive. `line.args` no longer holds the matcher token; `d` already has name,
   * args, matcher and source. Fill the typed field and children.
   */
  parse(line: Line, d: DirectiveConfig, scope: DirectiveScope): void;
}

/** The subdirectives of a block as written, for readers of `children` (typed fields are preferred). */
export function rawChildren(block: Node[] | undefined): DirectiveConfig[] {
  return (block ?? []).map((n) => ({
    name: n.head.text,
    args: n.args.map((t) => t.text),
    children: rawChildren(n.block),
    source: { ...n.head.loc },
  }));
}
