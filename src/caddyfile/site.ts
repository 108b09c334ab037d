// A site block: addresses, named matchers, site settings (tls, log, bind) and handler directives
// read into DirectiveConfig trees, ordered the way Caddy runs them.

import type { DirectiveConfig, ListenAddress, LogConfig, SiteConfig, TlsConfig } from '../config/model.js';
import { ConfigError } from '../config/errors.js';
import { parseAddress, splitAddressTokens, type PortDefaults } from './addresses.js';
import { parseLog, resolvePath, type AdaptContext } from './context.js';
import { HANDLERS, SITE_DIRECTIVES, UNSUPPORTED_DIRECTIVES } from './directives/index.js';
import type { DirectiveScope } from './directives/types.js';
import { Line, unknownName } from './line.js';
import { defineMatchers, isMatcherToken, resolveMatcherToken, type MatcherScope } from './matchers.js';
import { assignGroups, type DirectiveOrder } from './order.js';
import type { Node } from './parser.js';
import { expandShorthands } from './placeholders.js';
import type { Token } from './token.js';

const ALLOWED_DIRECTIVES = [...Object.keys(HANDLERS), ...SITE_DIRECTIVES].sort();

export function parseSite(node: Node, ctx: AdaptContext, order: DirectiveOrder, ports: PortDefaults): SiteConfig {
  const block = node.block ?? [];
  const matchers: MatcherScope = new Map();
  const defined = new Map<string, Token>();
  defineMatchers(block, matchers, defined);

  // Matchers defined inside route/handle blocks: names are unique site-wide, so they are listed too.
  const nestedMatchers: MatcherScope = new Map();
  const siteRoot = findSiteRoot(block, ctx);
  let tls: TlsConfig | undefined;
  const logs: LogConfig[] = [];
  let bind: string | undefined;

  const makeScope = (m: MatcherScope): DirectiveScope => ({
    ctx,
    matchers: m,
    ...(siteRoot !== undefined ? { root: siteRoot } : {}),
    parseBlock(nested, sorted) {
      const inner: MatcherScope = new Map(m);
      defineMatchers(nested, inner, defined);
      for (const [k, v] of inner) if (!matchers.has(k)) nestedMatchers.set(k, v);
      const dirs: DirectiveConfig[] = [];
      for (const n of nested) {
        if (isMatcherDef(n)) continue;
        const name = n.head.text;
        if ((SITE_DIRECTIVES as readonly string[]).includes(name)) {
          throw new ConfigError(`${name} is a site setting: put it at the top level of the site block`, n.head.loc);
        }
        dirs.push(parseDirective(n, makeScope(inner)));
      }
      const out = sorted ? order.sort(dirs) : dirs;
      assignGroups(out);
      return out;
    },
  });
  const scope = makeScope(matchers);

  const dirs: DirectiveConfig[] = [];
  for (const n of block) {
    if (isMatcherDef(n)) continue;
    const line = new Line(n);
    switch (line.name) {
      case 'tls':
        if (tls) line.fail('tls is given twice in this site');
        tls = parseTls(line, ctx);
        continue;
      case 'log':
        logs.push(parseLog(line, ctx, true));
        continue;
      case 'bind':
        line.noBlock();
        bind = line.single('bind <host>').text;
        if (/^[a-z]+\//.test(bind)) line.fail(`bind: network addresses (${bind}) are not supported; give a host or IP`, line.args[0]!);
        continue;
    }
    dirs.push(parseDirective(n, scope));
  }
  const directives = order.sort(dirs);
  assignGroups(directives);

  const addrTokens = splitAddressTokens([node.head, ...node.args]);
  if (addrTokens.length === 0) throw new ConfigError('site block needs an address, such as :8080', node.head.loc);
  const addresses: ListenAddress[] = addrTokens.map(({ text, tok }) => {
    const a = parseAddress(text, tok, ports);
    if (tls && !/^[a-z]+:\/\//i.test(text)) {
      a.scheme = 'https';
      if (!/:\d+$/.test(text)) a.port = ports.httpsPort;
    }
    if (bind !== undefined) a.bind = bind;
    return a;
  });

  const site: SiteConfig = { addresses, directives, source: { ...node.head.loc } };
  if (siteRoot !== undefined) site.root = siteRoot;
  if (matchers.size + nestedMatchers.size > 0) site.matchers = Object.fromEntries([...matchers, ...nestedMatchers]);
  if (tls) site.tls = tls;
  if (logs.length > 0) site.logs = logs;
  return site;
}

function isMatcherDef(n: Node): boolean {
  return n.head.quote === 'none' && n.head.text.startsWith('@');
}

/** `root <path>` or `root * <path>` at the top of the site: the site's root. */
function findSiteRoot(block: Node[], ctx: AdaptContext): string | undefined {
  for (const n of block) {
    if (n.head.text !== 'root') continue;
    if (n.args.length === 1) return resolvePath(ctx.baseDir, n.args[0]!);
    if (n.args.length === 2 && n.args[0]!.text === '*') return resolvePath(ctx.baseDir, n.args[1]!);
  }
  return undefined;
}

function parseDirective(node: Node, scope: DirectiveScope): DirectiveConfig {
  const line = new Line(node);
  const name = line.name;
  const spec = (Object.hasOwn(HANDLERS, name) ? HANDLERS[name] : undefined) ?? unknownDirective(line);
  const d: DirectiveConfig = { name, args: [], children: [], source: { ...line.loc } };
  const first = line.args[0];
  // `root /var/www` is a path, not a matcher (Caddy's special case for one argument).
  const oneArgRoot = name === 'root' && line.args.length === 1;
  if (spec.matcher !== false && first && isMatcherToken(first) && !oneArgRoot) {
    d.matcher = first.text;
    const m = resolveMatcherToken(first, scope.matchers);
    if (m) d.match = m;
    line.args.shift();
  }
  d.args = line.args.map((t) => expandShorthands(t.text));
  spec.parse(line, d, scope);
  return tidy(d);
}

/** The same object with its keys in reading order (name and matcher first, source last). */
function tidy(d: DirectiveConfig): DirectiveConfig {
  const { name, matcher, match, args, children, source, group, ...typed } = d;
  return {
    name,
    ...(matcher !== undefined ? { matcher } : {}),
    ...(match !== undefined ? { match } : {}),
    args,
    ...typed,
    ...(group !== undefined ? { group } : {}),
    children,
    source,
  };
}

function unknownDirective(line: Line): never {
  const name = line.name;
  if (UNSUPPORTED_DIRECTIVES.includes(name)) line.fail(`${name} is a Caddy directive that phpasync does not support`);
  if (name === 'import') line.fail('import needs a snippet name or a file path');
  return line.fail(unknownName('unrecognized directive', name, ALLOWED_DIRECTIVES));
}

function parseTls(line: Line, ctx: AdaptContext): TlsConfig {
  const usage = 'tls <cert_file> <key_file> | tls internal';
  line.expectArgs(0, 2, usage);
  const tls: TlsConfig = { internal: false, source: { ...line.loc } };
  const [a, b] = line.args;
  if (a && b) {
    tls.certFile = resolvePath(ctx.baseDir, a);
    tls.keyFile = resolvePath(ctx.baseDir, b);
  } else if (a?.text === 'internal') {
    tls.internal = true;
  } else if (a?.text.includes('@')) {
    tls.email = a.text;
  } else if (a) {
    line.fail(`tls: expected a certificate and a key file, 'internal' or an email; usage: ${usage}`, a);
  }
  for (const n of line.block ?? []) {
    line.fail(`tls: subdirective '${n.head.text}' is not supported by phpasync; usage: ${usage}`, n.head);
  }
  if (!a) line.fail(`tls: missing arguments; usage: ${usage}`);
  return tls;
}
