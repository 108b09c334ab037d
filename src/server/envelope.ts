// The request envelope: everything PHP needs about one request, as one msgpack array.
// Layout must match php/server/envelope.h.
import { Encoder } from '@msgpack/msgpack';
import type { IncomingMessage } from 'node:http';

import { phpTarget } from './request-line.js';

// One encoder reused: encode() returns a view of its buffer, valid until the next call,
// which is enough because submit() copies it at once.
const encoder = new Encoder();

export function encodeEnvelope(raw: IncomingMessage, scheme: string, body: Buffer | null): Uint8Array {
  return encoder.encode([
    raw.method ?? 'GET',
    phpTarget(raw),
    raw.httpVersion,
    raw.rawHeaders,
    raw.socket.remoteAddress ?? '',
    raw.socket.remotePort ?? 0,
    scheme,
    body,
  ]);
}
