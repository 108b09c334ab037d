// The request envelope: everything PHP needs about one request, as one msgpack array.
// Layout must match php/server/envelope.h.
import { Encoder } from '@msgpack/msgpack';
import type { IncomingMessage } from 'node:http';

import { phpTarget } from './request-line.js';

// One encoder reused: encode() returns a view of its buffer, valid until the next call,
// which is enough because submit() copies it at once.
const encoder = new Encoder();

/** HTTP/2's header list as PHP expects HTTP/1's: pseudo-headers out, :authority as Host. */
function h2Headers(raw: string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name === ':authority') authority = raw[i + 1];
    else if (name.startsWith(':')) continue;
    else {
      if (name === 'host') host = true;
      out.push(name, raw[i + 1]!);
    }
  }
  if (!host && authority !== undefined) out.unshift('host', authority);
  return out;
}

/** script: the classic script the request runs (src/server/scripts.ts), a 9th element. */
export function encodeEnvelope(raw: IncomingMessage, scheme: string, body: Buffer | null, script?: readonly string[]): Uint8Array {
  const fields: unknown[] = [
    raw.method ?? 'GET',
    phpTarget(raw),
    raw.httpVersion,
    raw.httpVersionMajor === 2 ? h2Headers(raw.rawHeaders) : raw.rawHeaders,
    raw.socket.remoteAddress ?? '',
    raw.socket.remotePort ?? 0,
    scheme,
    body,
  ];
  if (script) fields.push(script);
  return encoder.encode(fields);
}
