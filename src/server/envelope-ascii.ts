// The envelope of an HTTP/1 request whose strings are all ASCII (nearly every request: URLs
// are percent-encoded, header values are tokens and text), written straight into a buffer.
// @msgpack/msgpack takes 0.42 us per hello request for the same bytes (a micro-benchmark on
// Node 20: type checks per value, two passes per string, a DataView store per byte); this
// takes about a quarter of that. The bytes are the ones @msgpack/msgpack writes
// (test/envelope.test.ts checks both on arbitrary requests). Any char above 0x7F: null, and
// envelope.ts encodes the request with @msgpack/msgpack, which also turns header bytes above
// 0x7F into bins.

let buf = new Uint8Array(2048);
let pos = 0;

/** Room for `n` more bytes (the buffer doubles; what was written stays). */
function room(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(buf.subarray(0, pos));
  buf = bigger;
}

/** A str of an ASCII string (the length header as msgpack picks it); false at a char above 0x7F. */
function str(s: string): boolean {
  const n = s.length;
  room(n + 5);
  const b = buf;
  let p = pos;
  if (n < 32) b[p++] = 0xa0 | n;
  else if (n < 0x100) {
    b[p++] = 0xd9;
    b[p++] = n;
  } else if (n < 0x10000) {
    b[p++] = 0xda;
    b[p++] = n >>> 8;
    b[p++] = n & 0xff;
  } else {
    b[p++] = 0xdb;
    b[p++] = n >>> 24;
    b[p++] = (n >>> 16) & 0xff;
    b[p++] = (n >>> 8) & 0xff;
    b[p++] = n & 0xff;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return false;
    b[p++] = c;
  }
  pos = p;
  return true;
}

/** An array's header. */
function arrayHead(n: number): void {
  room(5);
  if (n < 16) buf[pos++] = 0x90 | n;
  else if (n < 0x10000) {
    buf[pos++] = 0xdc;
    buf[pos++] = n >>> 8;
    buf[pos++] = n & 0xff;
  } else {
    buf[pos++] = 0xdd;
    buf[pos++] = n >>> 24;
    buf[pos++] = (n >>> 16) & 0xff;
    buf[pos++] = (n >>> 8) & 0xff;
    buf[pos++] = n & 0xff;
  }
}

/** A port: an integer 0-65535 as msgpack writes it (fixint, uint8, uint16). */
function port(n: number): boolean {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) return false;
  room(3);
  if (n < 0x80) buf[pos++] = n;
  else if (n < 0x100) {
    buf[pos++] = 0xcc;
    buf[pos++] = n;
  } else {
    buf[pos++] = 0xcd;
    buf[pos++] = n >>> 8;
    buf[pos++] = n & 0xff;
  }
  return true;
}

export interface AsciiEnvelope {
  bytes: Uint8Array;
  bodyAt: number;
}

/**
 * [method, uri, protocol, [name, value, ...], remote_addr, remote_port, scheme, nil(, script)]
 * as msgpack, or null when a string has a char above 0x7F. The bytes are a view of a buffer
 * reused by the next call.
 */
export function encodeAscii(
  method: string,
  uri: string,
  protocol: string,
  headers: readonly string[],
  addr: string,
  remotePort: number,
  scheme: string,
  script: readonly string[] | undefined,
): AsciiEnvelope | null {
  pos = 0;
  arrayHead(script ? 9 : 8);
  if (!str(method) || !str(uri) || !str(protocol)) return null;
  arrayHead(headers.length);
  for (let i = 0; i < headers.length; i++) if (!str(headers[i]!)) return null;
  if (!str(addr) || !port(remotePort) || !str(scheme)) return null;
  room(1);
  const bodyAt = pos;
  buf[pos++] = 0xc0;
  if (script) {
    arrayHead(script.length);
    for (let i = 0; i < script.length; i++) if (!str(script[i]!)) return null;
  }
  return { bytes: buf.subarray(0, pos), bodyAt };
}
