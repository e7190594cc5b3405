import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { AmqpDecodeError, readUtf8, writeUtf8 } from '../../src/protocol/amqp/constants.js';
import {
  decodeFieldTable,
  decodeFieldTableExact,
  encodeFieldTable,
  fieldTableSize,
  MAX_FIELD_DEPTH,
} from '../../src/protocol/amqp/field-table.js';
import type { FieldTable, FieldValue } from '../../src/protocol/amqp/field-table.js';

// amqplib's own table codec, for wire compatibility checks only (not in its exports map).
const require = createRequire(import.meta.url);
const amqplibCodec = require(join(dirname(require.resolve('amqplib')), 'lib/codec.js')) as {
  encodeTable(buf: Buffer, val: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
};
function amqplibEncode(t: unknown): Buffer {
  const scratch = Buffer.alloc(1 << 20);
  return Buffer.from(scratch.subarray(0, amqplibCodec.encodeTable(scratch, t, 0)));
}
/** Decode a whole encoded table (length prefix included). */
const decode = (b: Buffer): FieldTable => decodeFieldTable(b, 4, b.length - 4);
const decodeExact = (b: Buffer): FieldTable => decodeFieldTableExact(b, 4, b.length - 4);
const isDecodeError = (code: number) => (e: unknown) =>
  e instanceof AmqpDecodeError && e.replyCode === code;

const utf8 = fc
  .string({ unit: 'binary', maxLength: 40 })
  .filter((s) => Buffer.from(s).toString() === s && Buffer.byteLength(s) <= 255);
const key = utf8.filter((k) => k !== '!');
/** Values whose plain decode gives back the same JS value (and amqplib encodes the same way). */
const plainValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    utf8,
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ min: -(2 ** 50), max: 2 ** 50, noNaN: true }).filter((d) => !Object.is(d, -0)),
    fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
    fc.nat().map((value) => ({ '!': 'timestamp', value })),
    fc
      .record(
        { places: fc.integer({ min: 0, max: 255 }), digits: fc.nat() },
        { noNullPrototype: true },
      )
      .map((value) => ({ '!': 'decimal', value })),
    fc.array(tie('value'), { maxLength: 4 }),
    tie('table'),
  ),
  table: fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
}));
const plainTable = plainValue.table as fc.Arbitrary<FieldTable>;

/** Every wire type, each wrapped so the type is explicit. */
const typedValue: fc.Arbitrary<FieldValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer({ min: -128, max: 127 }).map((value) => ({ '!': 'int8', value })),
    fc.integer({ min: 0, max: 255 }).map((value) => ({ '!': 'uint8', value })),
    fc.integer({ min: -32768, max: 32767 }).map((value) => ({ '!': 'int16', value })),
    fc.integer({ min: 0, max: 65535 }).map((value) => ({ '!': 'uint16', value })),
    fc.integer().map((value) => ({ '!': 'int32', value })),
    fc.nat({ max: 0xffffffff }).map((value) => ({ '!': 'uint32', value })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => ({ '!': 'int64', value })),
    fc.float({ noNaN: true }).map((value) => ({ '!': 'float', value })),
    fc.double({ noNaN: true }).map((value) => ({ '!': 'double', value })),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value) => ({ '!': 'timestamp', value })),
    fc
      .record(
        { places: fc.integer({ min: 0, max: 255 }), digits: fc.nat() },
        { noNullPrototype: true },
      )
      .map((value) => ({ '!': 'decimal', value })),
    utf8,
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value as fc.Arbitrary<FieldValue>;

void test('every field type round-trips and maps to the documented JS value', () => {
  const table: FieldTable = {
    t: true,
    b: { '!': 'int8', value: -5 },
    B: { '!': 'uint8', value: 200 },
    s: { '!': 'int16', value: -300 },
    u: { '!': 'uint16', value: 60000 },
    I: { '!': 'int32', value: -70000 },
    i: { '!': 'uint32', value: 4000000000 },
    l: { '!': 'int64', value: -(2 ** 40) },
    lBig: 2n ** 62n + 1n,
    f: { '!': 'float', value: 1.5 },
    d: 2.25,
    D: { '!': 'decimal', value: { places: 2, digits: 12345 } },
    S: 'héllo',
    x: Buffer.from([1, 2, 3]),
    A: [1, 'two', null, [true]],
    T: { '!': 'timestamp', value: 1700000000 },
    F: { nested: { deeper: 'yes' } },
    V: null,
  };
  const bytes = encodeFieldTable(table);
  assert.equal(bytes.length, fieldTableSize(table));
  // Keys name the type octet each value must be written with.
  for (const [k, v] of Object.entries(table)) {
    const one = encodeFieldTable({ [k]: v });
    assert.equal(String.fromCharCode(one[5 + k.length]!), k === 'lBig' ? 'l' : k);
  }
  assert.deepEqual(decode(bytes), {
    ...{ t: true, b: -5, B: 200, s: -300, u: 60000, I: -70000, i: 4000000000, l: -(2 ** 40) },
    ...{ lBig: 2n ** 62n + 1n, f: 1.5, d: 2.25, D: table.D, S: 'héllo', x: Buffer.from([1, 2, 3]) },
    ...{ A: [1, 'two', null, [true]], T: table.T, F: table.F, V: null },
  });
  assert.deepEqual(encodeFieldTable(decodeExact(bytes)), bytes);
});

void test('plain JS values round-trip through encode/decode (fast-check)', () => {
  fc.assert(
    fc.property(plainTable, (t) => {
      assert.deepEqual(decode(encodeFieldTable(t)), t);
    }),
    { numRuns: 3000 },
  );
});

void test('type inference matches amqplib byte for byte, and decodes like amqplib', () => {
  // amqplib assigns keys with `=`, so a __proto__ key would change its result's prototype.
  const noProto = (t: FieldTable): boolean => !JSON.stringify(t).includes('"__proto__"');
  fc.assert(
    fc.property(plainTable.filter(noProto), (t) => {
      const ours = encodeFieldTable(t);
      assert.deepEqual(ours, amqplibEncode(t));
      assert.deepEqual(decode(ours), amqplibCodec.decodeFields(ours.subarray(4)));
    }),
    { numRuns: 2000 },
  );
});

void test('decodeFieldTableExact re-encodes every wire type byte for byte (fast-check)', () => {
  const arb = fc.dictionary(key, typedValue, { maxKeys: 6, noNullPrototype: true });
  fc.assert(
    fc.property(arb, (t) => {
      const bytes = encodeFieldTable(t);
      assert.deepEqual(encodeFieldTable(decodeExact(bytes)), bytes);
    }),
    { numRuns: 3000 },
  );
});

void test('encoding picks types like amqplib, and honours { "!": type } wrappers', () => {
  const one = (v: unknown): string => {
    const b = encodeFieldTable({ k: v as FieldValue });
    return b.subarray(6).toString('hex');
  };
  assert.equal(one(5), '6205');
  assert.equal(one(-129), '73ff7f');
  assert.equal(one(70000), '4900011170');
  assert.equal(one(2 ** 40), '6c0000010000000000');
  assert.equal(one(0.5), '643fe0000000000000');
  assert.equal(one(2 ** 64), '6443f0000000000000');
  assert.equal(one(true), '7401');
  assert.equal(one(null), '56');
  assert.equal(one('é'), '530000000' + '2c3a9');
  assert.equal(one({ '!': 'int32', value: 5 }), '4900000005');
  assert.equal(one({ '!': 'float', value: 0.5 }), '663f000000');
  assert.equal(one({ '!': 'S', value: 'x' }), '530000000178');
  assert.equal(one(new Date(2000_500)), '5400000000000007d0');
  // { type, value } is an ordinary nested table, as in amqplib.
  assert.equal(one({ type: 'int32', value: 5 }), amqplibEncode({ k: { type: 'int32', value: 5 } }).subarray(6).toString('hex')); // prettier-ignore
  assert.deepEqual(decode(encodeFieldTable({ a: undefined, b: [undefined as unknown as null] })), {
    b: [null],
  });
  assert.throws(() => encodeFieldTable({ k: { '!': 'nope', value: 1 } }), TypeError);
  assert.throws(() => encodeFieldTable({ k: (() => 1) as unknown as FieldValue }), TypeError);
  assert.throws(() => encodeFieldTable({ ['x'.repeat(256)]: 1 }), RangeError);
});

void test('int64 beyond 2^53 decodes to a bigint unless exactly representable', () => {
  const b = encodeFieldTable({ a: 2n ** 60n + 1n, b: 2n ** 60n, c: -(2n ** 63n) });
  assert.deepEqual(decode(b), { a: 2n ** 60n + 1n, b: 2 ** 60, c: -(2 ** 63) });
  assert.deepEqual(encodeFieldTable(decodeExact(b)), b);
});

void test('tables nested deeper than the limit fail with 502, at the limit they decode', () => {
  const nest = (depth: number, array: boolean): Buffer => {
    let inner = Buffer.from([0, 0, 0, 0]); // the innermost empty table or array
    for (let d = 1; d < depth; d++) {
      const entry = array
        ? Buffer.concat([Buffer.from('A'), inner])
        : Buffer.concat([Buffer.from([1, 0x6b, 0x46]), inner]);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(entry.length);
      inner = Buffer.concat([len, entry]);
    }
    return inner;
  };
  assert.doesNotThrow(() => decode(nest(MAX_FIELD_DEPTH, false)));
  assert.throws(() => decode(nest(MAX_FIELD_DEPTH + 1, false)), isDecodeError(502));
  assert.throws(() => decode(nest(10_000, false)), isDecodeError(502));
  const arrays = Buffer.concat([Buffer.from([0, 0, 0, 0, 1, 0x6b, 0x41]), nest(10_000, true)]);
  arrays.writeUInt32BE(arrays.length - 4);
  assert.throws(() => decode(arrays), isDecodeError(502));
  const cyclic: FieldTable = {};
  cyclic.self = cyclic;
  assert.throws(() => encodeFieldTable(cyclic), RangeError);
});

void test('a __proto__ key becomes an own property and pollutes nothing', () => {
  const inner = encodeFieldTable({ polluted: true });
  const entry = Buffer.concat([
    Buffer.from([9]),
    Buffer.from('__proto__'),
    Buffer.from('F'),
    inner,
  ]);
  const table = Buffer.concat([Buffer.alloc(4), entry]);
  table.writeUInt32BE(entry.length);
  const t = decode(table);
  assert.equal(Object.getPrototypeOf(t), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((t as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(t), ['__proto__']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(t, '__proto__')?.value, { polluted: true });
  assert.deepEqual(encodeFieldTable(t), table);
});

void test('bad input is an AmqpDecodeError: unknown type 502, bad lengths 501', () => {
  const t = encodeFieldTable({ s: 'hello', n: 7 });
  const unknown = Buffer.from(t);
  unknown[6] = 0x5a; // 'Z'
  assert.throws(() => decode(unknown), isDecodeError(502));
  for (let cut = 5; cut < t.length; cut++) {
    if (cut === 16) continue; // the boundary between the two entries: a valid shorter table
    assert.throws(() => decodeFieldTable(t, 4, cut - 4), isDecodeError(501), `cut at ${cut}`);
  }
  assert.throws(() => decodeFieldTable(t, 4, t.length), isDecodeError(501));
});

void test('random bytes only ever raise AmqpDecodeError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, exact) => {
      const b = Buffer.from(bytes);
      try {
        if (exact) decodeFieldTableExact(b, 0, b.length);
        else decodeFieldTable(b, 0, b.length);
      } catch (e) {
        assert.ok(e instanceof AmqpDecodeError, String(e));
      }
    }),
    { numRuns: 5000 },
  );
});

void test('readUtf8/writeUtf8 agree with Buffer for ASCII and multi-byte strings', () => {
  fc.assert(
    fc.property(utf8, (s) => {
      const n = Buffer.byteLength(s);
      const b = Buffer.alloc(n + 2);
      assert.equal(writeUtf8(b, 1, s, n), n + 1);
      assert.equal(readUtf8(b, 1, n + 1), s);
      assert.deepEqual(b.subarray(1, n + 1), Buffer.from(s));
    }),
    { numRuns: 1000 },
  );
});
