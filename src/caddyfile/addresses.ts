// Site addresses: `:8080`, `localhost:8080`, `http://127.0.0.1:0`, `https://example.com`,
// `[::1]:9000`. phpasync does not obtain certificates, so a site is HTTPS only when asked
// (https://, port 443, or a `tls` directive); Caddy would turn names into HTTPS sites.

import net from 'node:net';
import { ConfigError } from '../config/errors.js';
import type { ListenAddress } from '../config/model.js';
import type { Token } from './token.js';

export interface PortDefaults {
  httpPort: number;
  httpsPort: number;
}

/** Splits the tokens of a site's first line(s) on commas into one address per entry. */
export function splitAddressTokens(tokens: Token[]): { text: string; tok: Token }[] {
  const out: { text: string; tok: Token }[] = [];
  for (const tok of tokens) {
    for (const part of tok.text.split(',')) {
      const text = part.trim();
      if (text !== '') out.push({ text, tok });
    }
  }
  return out;
}

export function parseAddress(text: string, tok: Token, ports: PortDefaults): ListenAddress {
  const fail = (msg: string): never => {
    throw new ConfigError(msg, tok.loc);
  };
  let rest = text;
  let scheme: 'http' | 'https' | undefined;
  const sm = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (sm) {
    const s = sm[1]!.toLowerCase();
    if (s !== 'http' && s !== 'https') fail(`site address ${text}: scheme ${s}:// is not supported; use http:// or https://`);
    scheme = s as 'http' | 'https';
    rest = rest.slice(sm[0].length);
  }
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    fail(`site address ${text}: a path in a site address is not supported; use a matcher or handle_path in the site block`);
  }
  let host = rest;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end === -1) fail(`site address ${text}: missing ']' after the IPv6 address`);
    host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) fail(`site address ${text}: unexpected '${after}' after the IPv6 address`);
      portText = after.slice(1);
    }
    if (!net.isIPv6(host)) fail(`site address ${text}: ${host} is not an IPv6 address`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon !== -1) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
      if (host.includes(':')) fail(`site address ${text}: write IPv6 addresses in brackets, as [${host}]:${portText}`);
    }
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
      fail(`site address ${text}: port must be a number from 0 to 65535, got '${portText}'`);
    }
    port = Number(portText);
  }
  if (host !== '' && !/^[A-Za-z0-9.*_-]+$/.test(host) && !net.isIP(host)) {
    fail(`site address ${text}: '${host}' is not a valid host name`);
  }
  if (!scheme) scheme = port === ports.httpsPort || port === 443 ? 'https' : 'http';
  if (port === undefined) port = scheme === 'https' ? ports.httpsPort : ports.httpPort;
  return {
    scheme,
    host: host.toLowerCase(),
    port,
    bind: bindFor(host),
    source: { ...tok.loc },
  };
}

/**
 * IP literals and localhost are listened on as written; other names are matched against the
 * Host header on every interface (what Caddy does for all of them).
 */
function bindFor(host: string): string {
  if (host === '' || host.includes('*')) return '';
  if (net.isIP(host) || host.toLowerCase() === 'localhost') return host.toLowerCase();
  return '';
}

export function formatAddress(a: ListenAddress): string {
  const host = net.isIPv6(a.host) ? `[${a.host}]` : a.host;
  return `${a.scheme}://${host}:${a.port}`;
}
