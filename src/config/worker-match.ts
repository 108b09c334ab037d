// A worker's `match` patterns, evaluated as Caddy's path matcher (caddyhttp.MatchPath), which
// FrankenPHP uses for them: `*` matches everything; `*x*` is a substring, `*x` a suffix and
// `x*` a prefix test when that is the only wildcard; anything else is a glob as Go's
// path.Match reads it (`*` and `?` stop at `/`, `[a-z]`, `\` escapes), so a pattern without
// wildcards is an exact match. The path is percent-decoded, cleaned (`.`/`..`, doubled
// slashes; a trailing slash is kept) and compared case-insensitively, as Caddy does.

/** Why a pattern cannot be used, or undefined when it can. */
export function workerMatchProblem(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  if (!pattern.startsWith('/') && !pattern.startsWith('*')) return `'${pattern}' must be * or a path starting with /`;
  // Caddy compares these in escaped space, or keeps doubled slashes: not built here.
  if (pattern.includes('%')) return `not supported yet: '${pattern}': percent-escapes in a worker match`;
  if (pattern.includes('//')) return `not supported yet: '${pattern}': doubled slashes in a worker match`;
  if (pattern.includes('{')) return `not supported yet: '${pattern}': placeholders in a worker match`;
  if (globRegExp(pattern.toLowerCase()) === undefined) return `'${pattern}' is not a valid pattern (unclosed [ or trailing \\)`;
  return undefined;
}

/** True when the patterns let every request through (`*`, `/*`). */
export function matchesEveryPath(patterns: readonly string[]): boolean {
  return patterns.includes('*') || patterns.includes('/*');
}

/** Go's path.Match as a RegExp over a whole path; undefined for a malformed pattern. */
function globRegExp(pattern: string): RegExp | undefined {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) return undefined;
      re += escapeRe(pattern[++i]!);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return undefined;
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body === '') return undefined;
      // Ranges stay; every other character is literal (a class never matches '/').
      const cls = body.replace(/\\(.)/g, '$1').replace(/[\]\\^]/g, '\\$&');
      re += negate ? `[^/${cls}]` : `(?!/)[${cls}]`;
      i = end;
    } else re += escapeRe(c);
  }
  try {
    return new RegExp(`^${re}$`, 's');
  } catch {
    return undefined;
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Percent-decodes byte-wise (never throws: bytes that are not UTF-8 stay as latin1 chars). */
function decodePath(p: string): string {
  if (!p.includes('%')) return p;
  const bytes = Buffer.from(p.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'), 'latin1');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x25 && i + 2 < bytes.length) {
      out.push(parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16));
      i += 2;
    } else out.push(bytes[i]!);
  }
  const buf = Buffer.from(out);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return buf.toString('latin1');
  }
}

/** Go's path.Clean, keeping a trailing slash as Caddy's CleanPath does. */
export function cleanPath(p: string): string {
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  let cleaned = (rooted ? '/' : '') + out.join('/');
  if (cleaned === '') cleaned = rooted ? '/' : '.';
  if (cleaned !== '/' && p.endsWith('/')) cleaned += '/';
  return cleaned;
}

/** The path of a request target: origin-form `/p?q`, absolute-form `http://h/p?q`, or `*`. */
function targetPath(target: string): string {
  if (target.startsWith('/') || target === '*') {
    const q = target.search(/[?#]/);
    return q < 0 ? target : target.slice(0, q);
  }
  try {
    return new URL(target).pathname;
  } catch {
    return target;
  }
}

/**
 * A test on request targets for these patterns; undefined when every request matches.
 * The patterns are assumed to have passed workerMatchProblem().
 */
export function compileWorkerMatch(patterns: readonly string[]): ((target: string) => boolean) | undefined {
  if (patterns.length === 0 || matchesEveryPath(patterns)) return undefined;
  const tests = patterns.map((raw): ((p: string) => boolean) => {
    const pat = raw.toLowerCase();
    const stars = pat.split('*').length - 1;
    if (stars === 2 && pat.length >= 2 && pat.startsWith('*') && pat.endsWith('*')) {
      const mid = pat.slice(1, -1);
      return (p) => p.includes(mid);
    }
    if (stars === 1 && pat.startsWith('*')) {
      const suffix = pat.slice(1);
      return (p) => p.endsWith(suffix);
    }
    if (stars === 1 && pat.endsWith('*')) {
      const prefix = pat.slice(0, -1);
      return (p) => p.startsWith(prefix);
    }
    const re = globRegExp(pat);
    return re ? (p) => re.test(p) : () => false;
  });
  return (target) => {
    const p = cleanPath(decodePath(targetPath(target)).toLowerCase());
    return tests.some((t) => t(p));
  };
}
