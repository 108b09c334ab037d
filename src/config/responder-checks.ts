// The request placeholders `respond`, `redir`, `rewrite`, `uri` and `header` may use at runtime
// (src/server/responders.ts fills them). Kept in config/ so that `validate` checks them
// without loading the server.

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
