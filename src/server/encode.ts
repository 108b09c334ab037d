// Caddy's `encode`: compresses responses with the formats Node's zlib has (gzip, br; zstd is
// not in Node 20 and is refused when the config names it). Caddy's rules: only the content
// types of its default list, never a response that is already encoded, partial (206), without
// a body, or shorter than minimum_length when its length is known. A response whose length is
// not known at its head (PHP after flush()) is compressed as it streams, every chunk flushed
// through, so output is never held back waiting for minimum_length.
import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';

import type { EncodeConfig } from '../config/model.js';
import { PhpasyncError } from './errors.js';
import { acceptedEncodings } from './static-files.js';

/** Caddy's default `encode` match: Content-Type prefixes (caddyhttp/encode). */
const COMPRESSIBLE = [
  'application/atom+xml',
  'application/eot',
  'application/font',
  'application/geo+json',
  'application/graphql+json',
  'application/javascript',
  'application/json',
  'application/ld+json',
  'application/manifest+json',
  'application/opentype',
  'application/otf',
  'application/rss+xml',
  'application/truetype',
  'application/ttf',
  'application/vnd.api+json',
  'application/vnd.ms-fontobject',
  'application/wasm',
  'application/x-httpd-cgi',
  'application/x-javascript',
  'application/x-opentype',
  'application/x-otf',
  'application/x-perl',
  'application/x-protobuf',
  'application/x-ttf',
  'application/xhtml+xml',
  'application/xml',
  'font/',
  'image/svg+xml',
  'image/vnd.microsoft.icon',
  'image/x-icon',
  'multipart/bag',
  'multipart/mixed',
  'text/',
];

export function compressible(contentType: string): boolean {
  const t = contentType.trimStart().toLowerCase();
  return COMPRESSIBLE.some((p) => t.startsWith(p));
}

/** The encoding chosen for one response: its token and a fresh compressor. */
export interface Encoding {
  name: 'gzip' | 'br';
  create(): zlib.Gzip | zlib.BrotliCompress;
}

export class ResponseEncoder {
  private readonly formats: Encoding[];

  constructor(private readonly config: EncodeConfig) {
    this.formats = config.formats.map((f): Encoding => {
      if (f.name === 'gzip') {
        const level = f.level ?? zlib.constants.Z_DEFAULT_COMPRESSION;
        return { name: 'gzip', create: () => zlib.createGzip({ level }) };
      }
      if (f.name === 'br') {
        // Brotli's default quality (11) is meant for files compressed once; on the fly it
        // costs more than the bytes it saves. 4 is the usual choice for dynamic responses.
        const params = { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 };
        return { name: 'br', create: () => zlib.createBrotliCompress({ params }) };
      }
      // checkRunnable refuses it first; this keeps a hand-built config from getting past.
      throw new PhpasyncError('PHPASYNC_NOT_SUPPORTED', [`encode ${f.name} (Node 20's zlib has no ${f.name})`]);
    });
  }

  /**
   * The encoding for a response, or undefined to send it as is. contentType: the response's
   * Content-Type (a header value, possibly absent); length: its body length, NaN when it streams.
   * Callers also make sure the response had no Content-Encoding of its own.
   */
  choose(req: IncomingMessage, status: number, contentType: unknown, length: number): Encoding | undefined {
    if (req.method === 'HEAD' || status < 200 || status === 204 || status === 206 || status === 304) return undefined;
    if (typeof contentType !== 'string' || !compressible(contentType)) return undefined;
    if (!Number.isNaN(length) && length < this.config.minimumLength) return undefined;
    const accepted = acceptedEncodings(req.headers['accept-encoding']);
    if (accepted.size === 0) return undefined;
    const star = accepted.get('*');
    let best: Encoding | undefined;
    let bestQ = 0;
    // The client's preference first, ties to the order the config lists the formats in.
    for (const f of this.formats) {
      const q = accepted.get(f.name) ?? star ?? 0;
      if (q > bestQ) {
        best = f;
        bestQ = q;
      }
    }
    return best;
  }

  /** choose() for a head given as a flat [name, value, …] list (PHP's responses). */
  chooseForHead(req: IncomingMessage, status: number, headers: readonly string[], length: number): Encoding | undefined {
    let type: string | undefined;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (name === 'content-encoding') return undefined;
      if (name === 'content-type') type = headers[i + 1];
    }
    return this.choose(req, status, type, length);
  }
}

/** Starts an encoded body: the compressor writes into res; a compressor error cuts the
 * connection (the head is out already). */
export function encodeInto(encoding: Encoding, res: import('node:http').ServerResponse): zlib.Gzip | zlib.BrotliCompress {
  const z = encoding.create();
  z.on('error', () => res.destroy());
  z.pipe(res);
  return z;
}

/** Pushes what the compressor holds to the client: a streamed response stays streamed. */
export function flushEncoded(z: zlib.Gzip | zlib.BrotliCompress): void {
  if (z instanceof zlib.Gzip) z.flush(zlib.constants.Z_SYNC_FLUSH);
  else z.flush();
}
