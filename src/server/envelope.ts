// The request envelope: everything PHP needs about one request, as one msgpack array.
// Layout must match php/server/envelope.h:
//   [method, uri, protocol, [name, value, ...], remote_addr, remote_port, scheme, body: bin|nil]
// The body is not encoded here: its place holds nil, and submit() (addon/engine.cc) puts the
// body's bin there while it copies both into the request's job, so the body is copied once on
// its way to PHP.
import { Encoder } from '@msgpack/msgpack';
import type { IncomingMessage } from 'node:http';

import { encodeAscii } from './envelope-ascii.js';
import { phpTarget } from './request-line.js';

// One encoder reused: encodeSharedRef() returns a view of its buffer, valid until the next
// call, which is enough because submit() copies it at once.
const encoder = new Encoder();
/** Measures the script's encoding (the part after the body's nil). */
const scriptEncoder = new Encoder();

/** A char that is not ASCII; one that is not a byte either. */
const HIGH = /[^\x00-\x7f]/;
const WIDE = /[^\x00-\xff]/;

/**
 * Header values as bytes: Node's parser gives one char per byte received (latin1). A string
 * would be encoded as UTF-8, so "caf\xC3\xA9" would reach PHP as "caf\xC3\x83\xC2\xA9"; a value
 * with bytes above 0x7f goes as bin (PHP reads str and bin alike), so PHP sees the bytes the
 * client sent, as Go's net/http (so FrankenPHP) does. Names are tokens: ASCII only. A value
 * with chars above U+00FF cannot come from the parser (JS code put it there): it stays a
 * string, so UTF-8.
 */
function byteValues(raw: readonly string[]): (string | Uint8Array)[] {
  let out: (string | Uint8Array)[] | undefined;
  for (let i = 1; i < raw.length; i += 2) {
    if (!HIGH.test(raw[i]!) || WIDE.test(raw[i]!)) continue;
    out ??= raw.slice();
    out[i] = Buffer.from(raw[i]!, 'latin1');
  }
  return out ?? (raw as string[]);
}

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

/** The envelope's bytes (a view of the encoder's buffer, valid until the next call) and
 * where in them the body's nil is. */
export interface EncodedEnvelope {
  bytes: Uint8Array;
  bodyAt: number;
}

/** The peer of a connection never changes: read once per socket (each read of
 * remoteAddress/remotePort goes through Node's getters, per request). */
const PEER = Symbol('phpasync.peer');
type PeerSocket = IncomingMessage['socket'] & { [PEER]?: [string, number] };

function peerOf(raw: IncomingMessage): [string, number] {
  const socket = raw.socket as PeerSocket;
  return (socket[PEER] ??= [socket.remoteAddress ?? '', socket.remotePort ?? 0]);
}

/** The envelope's fields, refilled per request (encoded at once, never kept). */
const fields: unknown[] = new Array(8).fill(null);
const fieldsWithScript: unknown[] = new Array(9).fill(null);

/** script: the classic script the request runs (src/server/scripts.ts), a 9th element after
 * the body. The body itself is left out (nil, see above). An HTTP/1 request whose strings are
 * all ASCII is written by envelope-ascii.ts, into the same bytes. */
export function encodeEnvelope(raw: IncomingMessage, scheme: string, script?: readonly string[]): EncodedEnvelope {
  const peer = peerOf(raw);
  if (raw.httpVersionMajor !== 2) {
    const ascii = encodeAscii(raw.method ?? 'GET', phpTarget(raw), raw.httpVersion, raw.rawHeaders, peer[0], peer[1], scheme, script);
    if (ascii !== null) return ascii;
  }
  return encodeGeneric(raw, peer, scheme, script);
}

/** Any request, through @msgpack/msgpack (a char above 0x7F somewhere, or HTTP/2). */
function encodeGeneric(raw: IncomingMessage, peer: [string, number], scheme: string, script?: readonly string[]): EncodedEnvelope {
  const f = script ? fieldsWithScript : fields;
  f[0] = raw.method ?? 'GET';
  f[1] = phpTarget(raw);
  f[2] = raw.httpVersion;
  f[3] = byteValues(raw.httpVersionMajor === 2 ? h2Headers(raw.rawHeaders) : raw.rawHeaders);
  f[4] = peer[0];
  f[5] = peer[1];
  f[6] = scheme;
  // f[7] stays null: the body's place.
  if (script) f[8] = script;
  const bytes = encoder.encodeSharedRef(f);
  // The headers and script are not kept past this request.
  f[3] = null;
  if (script) f[8] = null;
  // The nil is the last byte, or the one before the script's encoding.
  const tail = script ? scriptEncoder.encodeSharedRef(script).length : 0;
  return { bytes, bodyAt: bytes.length - 1 - tail };
}
