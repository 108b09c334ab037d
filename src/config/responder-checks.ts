// What `respond` and `redir` may use at runtime (src/server/responders.ts): path matchers only,
// and the request placeholders listed here. Kept in config/ so that `validate` checks them
// without loading the server.
import type { DirectiveConfig } from './model.js';
import { workerMatchProblem } from './worker-match.js';

/** Placeholders resolved per request (long form, as the adapter writes them). */
export const RESPONDER_PLACEHOLDERS = [
  'http.request.uri',
  'http.request.uri.path',
  'http.request.uri.query',
  'http.request.host',
  'http.request.hostport',
  'http.request.scheme',
  'http.request.method',
] as const;

/** Why a text's placeholders cannot be resolved at runtime, or undefined. */
export function placeholderProblem(text: string): string | undefined {
  for (const m of text.matchAll(/\{([^{}\s]+)\}/g)) {
    if (!(RESPONDER_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      return `placeholder {${m[1]}} (known here: ${RESPONDER_PLACEHOLDERS.map((k) => `{${k}}`).join(', ')})`;
    }
  }
  return undefined;
}

/** Why a directive's matcher cannot be used by respond/redir, or undefined. */
export function responderMatchProblem(d: DirectiveConfig): string | undefined {
  const m = d.match;
  if (!m) return undefined;
  const { name: _n, source: _s, path, ...others } = m;
  const kinds = Object.keys(others).filter((k) => (others as Record<string, unknown>)[k] !== undefined);
  if (kinds.length > 0 || !path) return `a matcher of ${kinds.join(', ') || 'no path'} (only path matchers are)`;
  for (const p of path) {
    const why = workerMatchProblem(p);
    if (why) return why;
  }
  return undefined;
}
