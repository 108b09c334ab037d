import type { SourceLocation } from '../config/model.js';

/** How a token was written; quoted tokens are never braces, matchers or keywords. */
export type TokenQuote = 'none' | 'double' | 'backtick' | 'heredoc';

export interface Token {
  text: string;
  quote: TokenQuote;
  /** True when a real line break (not a `\` continuation) precedes the token, or it is the first. */
  lineStart: boolean;
  loc: SourceLocation;
}

export function isBare(tok: Token, text: string): boolean {
  return tok.quote === 'none' && tok.text === text;
}

export function cloneToken(tok: Token, patch: Partial<Token> = {}): Token {
  return { ...tok, loc: { ...tok.loc }, ...patch };
}
