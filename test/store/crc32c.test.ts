import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { crc32c, crc32cByte } from '../../src/store/journal/crc32c.js';

/** The definition, one bit at a time: what every table-driven path must agree with. */
function reference(buf: Uint8Array, start: number, end: number, crc: number): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) {
    c ^= buf[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

void it('crc32c gives the published check values', () => {
  assert.equal(crc32c(Buffer.from('123456789'), 0, 9, 0), 0xe3069283);
  // RFC 3720 B.4: 32 bytes of zeros, of ones, ascending and descending.
  assert.equal(crc32c(Buffer.alloc(32, 0), 0, 32, 0), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff), 0, 32, 0), 0x62a8ab43);
  const up = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(crc32c(up, 0, 32, 0), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(up).reverse(), 0, 32, 0), 0x113fdb5c);
});

void it('crc32c matches the bitwise definition at every length, offset and alignment', () => {
  // One big backing buffer, as the journal's slabs are, so the word path's view is shared.
  const slab = Buffer.alloc(8192);
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 3000 }),
      fc.integer({ min: 0, max: 7 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (bytes, shift, seed) => {
        const view = slab.subarray(shift, shift + bytes.length);
        view.set(bytes);
        assert.equal(crc32c(view, 0, view.length, seed), reference(view, 0, view.length, seed));
      },
    ),
    { numRuns: 300 },
  );
});

void it('crc32c continues from a previous value, split anywhere', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.nat(), (bytes, at) => {
      const buf = Buffer.from(bytes);
      const cut = at % (buf.length + 1);
      const whole = crc32c(buf, 0, buf.length, 0);
      assert.equal(crc32c(buf, cut, buf.length, crc32c(buf, 0, cut, 0)), whole);
      if (cut > 0) assert.equal(crc32c(buf, 1, buf.length, crc32cByte(buf[0]!, 0)), whole);
    }),
    { numRuns: 200 },
  );
});
