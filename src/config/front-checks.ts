// What the per-request directives (src/server/routes.ts) can evaluate: request matchers of
// every kind the adapter reads, whose path patterns follow the worker match's rules; the
// request placeholders of responder-checks.ts in rewrite, uri and header values; and which
// directives may sit inside handle/handle_path blocks. Kept in config/ so `validate` says it.
import type { DirectiveConfig, MatcherConfig } from './model.js';
import { placeholderProblem } from './responder-checks.js';
import { workerMatchProblem } from './worker-match.js';

/** Why a matcher cannot be evaluated at runtime, or undefined. */
export function matcherProblem(m: MatcherConfig | undefined): string | undefined {
  if (!m) return undefined;
  for (const p of m.path ?? []) {
    const why = workerMatchProblem(p);
    if (why) return `path matcher: ${why.replace(/^not supported yet: /, '').replace(/worker match/g, 'path matcher')}`;
  }
  for (const vs of Object.values(m.header ?? {})) {
    for (const v of vs) if (v.includes('{')) return `header matcher with placeholders ('${v}')`;
  }
  for (const h of m.host ?? []) if (h.includes('{')) return `host matcher with placeholders ('${h}')`;
  for (const n of m.not ?? []) {
    const why = matcherProblem(n);
    if (why) return why;
  }
  return undefined;
}

/** Texts of a directive resolved per request (their placeholders must be known). */
export function placeholderTexts(d: DirectiveConfig): string[] {
  if (d.rewrite) return [d.rewrite.to];
  if (d.uri?.op === 'replace' || d.uri?.op === 'path_regexp') return [d.uri.replace];
  if (d.uri?.op === 'strip_prefix') return [d.uri.prefix];
  if (d.header) return d.header.ops.map((o) => o.value ?? '');
  return [];
}

/** Placeholder problem of a directive's texts, or undefined. */
export function directivePlaceholderProblem(d: DirectiveConfig): string | undefined {
  for (const t of placeholderTexts(d)) {
    const why = placeholderProblem(t);
    if (why) return why;
  }
  return undefined;
}

/** Directives that apply to the whole site (one per site, see runnable.ts) and so cannot sit
 * inside a handle block, which would make them look conditional. */
export const SITE_WIDE = new Set(['encode', 'request_body']);

/** Every directive of a site with whether it sits inside a handle/handle_path block. */
export function* walkScoped(list: readonly DirectiveConfig[], inHandle = false): Generator<{ d: DirectiveConfig; inHandle: boolean }> {
  for (const d of list) {
    yield { d, inHandle };
    if (d.name === 'route' || d.name === 'handle' || d.name === 'handle_path') yield* walkScoped(d.children, inHandle || d.name !== 'route');
  }
}
