// HTTPS sites: the certificates their `tls <cert> <key>` name, offered over TLS with HTTP/2
// and HTTP/1.1 by ALPN. With several sites, the certificate is picked by the name the client
// asks for (SNI), the first site's when no site matches; certificates are read once, at start.
import fs from 'node:fs';
import tls from 'node:tls';

import type { PhpasyncConfig } from '../config/model.js';
import { PhpasyncError } from './errors.js';
import { hostMatches } from './sites.js';

export interface HttpsOptions {
  allowHTTP1: true;
  key: Buffer;
  cert: Buffer;
  SNICallback?: (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void;
}

function read(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new PhpasyncError('PHPASYNC_TLS_FILE', [what, file, (err as Error).message]);
  }
}

/** The https options for the server, or undefined when no site is https. */
export function httpsOptions(config: PhpasyncConfig): HttpsOptions | undefined {
  const sites = config.sites.filter((s) => s.addresses.some((a) => a.scheme === 'https') && s.tls?.certFile && s.tls.keyFile);
  if (sites.length === 0) return undefined;
  const pairs = sites.map((s) => {
    const key = read(s.tls!.keyFile!, 'key');
    const cert = read(s.tls!.certFile!, 'certificate');
    let context: tls.SecureContext;
    try {
      context = tls.createSecureContext({ key, cert });
    } catch (err) {
      throw new PhpasyncError('PHPASYNC_TLS_PAIR', [s.tls!.certFile!, s.tls!.keyFile!, (err as Error).message]);
    }
    return { hosts: s.addresses.map((a) => a.host), key, cert, context };
  });
  const first = pairs[0]!;
  const opts: HttpsOptions = { allowHTTP1: true, key: first.key, cert: first.cert };
  if (pairs.length > 1) {
    opts.SNICallback = (servername, cb) => {
      const p = pairs.find((x) => x.hosts.some((h) => hostMatches(h, servername))) ?? first;
      cb(null, p.context);
    };
  }
  return opts;
}
