/**
 * Byte-level mutations for fuzzing, as fast-check arbitraries: each mutation is data (so
 * fast-check prints and shrinks it) and `applyMutations` replays it on a copy.
 */
import fc from 'fast-check';

export type Mutation =
  | { op: 'set'; at: number; value: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'truncate'; at: number }
  /** A 32-bit field overwritten with an extreme value: lengths and sizes are where bugs hide. */
  | { op: 'u32'; at: number; value: number }
  | { op: 'u16'; at: number; value: number };

const extreme32 = fc.constantFrom(0, 1, 0x7f, 0xff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff);
const extreme16 = fc.constantFrom(0, 1, 0xff, 0x7fff, 0x8000, 0xfffe, 0xffff);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    op: fc.constant('flip' as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    op: fc.constant('delete' as const),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.oneof(extreme32, fc.nat({ max: 0xffffffff })),
  }),
  fc.record({ op: fc.constant('u16' as const), at: fc.nat(), value: extreme16 }),
);

export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(mutationArb, {
  minLength: 1,
  maxLength: 6,
});

/** Applies `muts` in order to a copy of `input` (positions are taken modulo the current length). */
export function applyMutations(input: Buffer, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of muts) {
    const len = b.length;
    if (len === 0 && m.op !== 'insert') continue;
    const at = len === 0 ? 0 : m.at % len;
    switch (m.op) {
      case 'set':
        b[at] = m.value;
        break;
      case 'flip':
        b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(len, at + m.n))]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'u32':
        if (at + 4 <= len) b.writeUInt32BE(m.value, at);
        break;
      case 'u16':
        if (at + 2 <= len) b.writeUInt16BE(m.value, at);
        break;
    }
  }
  return b;
}

/** Splits `bytes` at the given cut points (any order, duplicates allowed), copying each piece. */
export function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(Buffer.from(bytes.subarray(prev, p)));
    prev = p;
  }
  return out;
}
