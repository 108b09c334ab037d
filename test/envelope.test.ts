// The ASCII envelope writer (src/server/envelope-ascii.ts) must write the bytes @msgpack/msgpack
// writes for the same fields, whatever their lengths, and give up (null) at any char above 0x7F
// so that the request goes through @msgpack/msgpack. Real requests through both paths:
// test/direct.test.ts and test/pipeline-bytes.test.ts.
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { encodeAscii } from '../src/server/envelope-ascii.js';

const ascii = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength });
// Mostly ASCII, now and then a char above 0x7F (latin1 or wider).
const text = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof({ weight: 4, arbitrary: ascii(maxLength) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) });
const lengths = fc.oneof(fc.constantFrom(0, 1, 31, 32, 255, 256, 65535, 65536), fc.nat(300));
const sized = lengths.chain((n) => text(n).map((s) => (s.length >= n ? s : s + 'x'.repeat(n - s.length))));

const request = fc.record({
  method: text(10),
  uri: sized,
  protocol: fc.constantFrom('1.0', '1.1'),
  headers: fc.array(text(40), { maxLength: 40 }),
  addr: fc.constantFrom('127.0.0.1', '::1', '::ffff:10.0.0.1', ''),
  port: fc.oneof(fc.constantFrom(0, 127, 128, 255, 256, 65535), fc.integer({ min: 0, max: 65535 })),
  scheme: fc.constantFrom('http', 'https'),
  script: fc.option(fc.array(text(20), { maxLength: 3 }), { nil: undefined }),
});

const isAscii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s);

describe('the ASCII envelope writer', () => {
  it("writes @msgpack/msgpack's bytes, the body's nil where it says, or gives up at a char above 0x7F", () => {
    fc.assert(
      fc.property(request, (r) => {
        const got = encodeAscii(r.method, r.uri, r.protocol, r.headers, r.addr, r.port, r.scheme, r.script);
        const strings = [r.method, r.uri, r.protocol, ...r.headers, r.addr, r.scheme, ...(r.script ?? [])];
        if (!strings.every(isAscii)) {
          expect(got).toBeNull();
          return;
        }
        const fields: unknown[] = [r.method, r.uri, r.protocol, r.headers, r.addr, r.port, r.scheme, null];
        if (r.script) fields.push(r.script);
        expect(got).not.toBeNull();
        expect(Buffer.from(got!.bytes).equals(Buffer.from(encode(fields)))).toBe(true);
        expect(got!.bytes[got!.bodyAt]).toBe(0xc0);
        // Both arrays have a one-byte header: the nil comes right after the first seven fields.
        expect(got!.bodyAt).toBe(encode(fields.slice(0, 7)).length);
      }),
      { numRuns: 2000 },
    );
  });

  it('grows past its first buffer and keeps what it wrote', () => {
    const big = 'h'.repeat(70_000);
    const got = encodeAscii('GET', `/${big}`, '1.1', ['x-a', big, 'x-b', 'v'], '::1', 65535, 'https', undefined);
    expect(Buffer.from(got!.bytes).equals(Buffer.from(encode(['GET', `/${big}`, '1.1', ['x-a', big, 'x-b', 'v'], '::1', 65535, 'https', null])))).toBe(true);
  });
});
