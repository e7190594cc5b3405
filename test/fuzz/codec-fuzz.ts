/**
 * fast-check fuzzing of the AMQP decoders (reliability plan E5): the frame reader, method,
 * properties, content-header and field-table decoders get arbitrary bytes and mutated valid
 * encodings. The only exception allowed out is the typed AmqpDecodeError (never a RangeError,
 * TypeError or stack overflow), and no input may hang the decoder.
 *
 * `runs` scales every property: 10k per property in `npm test`, far more in the long variant.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AmqpDecodeError } from '../../src/protocol/amqp/constants.js';
import {
  decodeFieldTable,
  decodeFieldTableExact,
  encodeFieldTable,
  type FieldTable,
} from '../../src/protocol/amqp/field-table.js';
import { decodeContentHeader, FrameReader } from '../../src/protocol/amqp/frame-reader.js';
import { encodeFrame, HEARTBEAT_FRAME } from '../../src/protocol/amqp/frame-writer.js';
import {
  decodeMethod,
  encodeMethodFrame,
  METHODS,
  type MethodInfo,
  type MethodKey,
  type WireType,
} from '../../src/protocol/amqp/generated/methods.js';
import {
  decodeProperties,
  encodeProperties,
  peekProperties,
  PROPERTIES,
  type BasicPropertiesInput,
} from '../../src/protocol/amqp/generated/properties.js';
import { applyMutations, chunked, mutationsArb } from '../helpers/mutate.js';

/**
 * Hang detector, not a performance assert: a decoder that loops or backtracks on some input
 * takes seconds; every legitimate input here decodes in well under a millisecond.
 */
const HANG_MS = 5000;

/** Per-target statistics, printed by the tests so the long run reports what it covered. */
export interface FuzzStats {
  inputs: number;
  decodeErrors: number;
  maxMs: number;
}

/** Runs `fn` on one input: it may return or throw AmqpDecodeError; anything else fails. */
function contained(stats: FuzzStats, fn: () => void): void {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AmqpDecodeError)) {
      throw new assert.AssertionError({
        message: `decoder raised ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)} instead of AmqpDecodeError`,
      });
    }
    assert.ok([501, 502, 540].includes(e.replyCode), `reply code ${e.replyCode}`);
    stats.decodeErrors++;
  } finally {
    const ms = performance.now() - t0;
    stats.inputs++;
    if (ms > stats.maxMs) stats.maxMs = ms;
    assert.ok(ms < HANG_MS, `one input took ${ms.toFixed(0)} ms: the decoder hangs`);
  }
}

// ---------------------------------------------------------------- valid inputs to mutate

const shortstr = fc
  .string({ unit: 'binary', maxLength: 20 })
  .filter((s) => Buffer.byteLength(s) <= 255 && Buffer.from(s).toString() === s);
const key = shortstr.filter((k) => k !== '!');
const tableArb = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    shortstr,
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.double({ noNaN: true }),
    fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
    fc.nat().map((value) => ({ '!': 'timestamp', value })),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('table'),
  ),
  table: fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
})).table as fc.Arbitrary<FieldTable>;

function arbitraryFor(type: WireType): fc.Arbitrary<unknown> {
  switch (type) {
    case 'octet':
      return fc.integer({ min: 0, max: 0xff });
    case 'short':
      return fc.integer({ min: 0, max: 0xffff });
    case 'long':
      return fc.nat({ max: 0xffffffff });
    case 'longlong':
    case 'timestamp':
      return fc.maxSafeNat();
    case 'bit':
      return fc.boolean();
    case 'shortstr':
      return shortstr;
    case 'longstr':
      return fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a));
    case 'table':
      return tableArb;
  }
}

const argsOf = (m: MethodInfo): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(Object.fromEntries(m.args.map((a) => [a.name, arbitraryFor(a.type)])), {
    noNullPrototype: true,
  });

/** A valid method frame (whole frame, header and frame-end included). */
export const methodFrameArb: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...METHODS), fc.integer({ min: 0, max: 3 }))
  .chain(([m, channel]) =>
    argsOf(m).map((args) => encodeMethodFrame(channel, m.id as MethodKey, args as never)),
  );

export const propertiesArb = fc.record(
  Object.fromEntries(PROPERTIES.map((p) => [p.name, arbitraryFor(p.type)])),
  { requiredKeys: [], noNullPrototype: true },
) as fc.Arbitrary<BasicPropertiesInput>;

/** A content header payload: class 60, weight 0, body size, encoded properties. */
function headerPayload(bodySize: bigint, props: BasicPropertiesInput): Buffer {
  const p = encodeProperties(props);
  const b = Buffer.alloc(12 + p.length);
  b.writeUInt16BE(60, 0);
  b.writeBigUInt64BE(bodySize, 4);
  p.copy(b, 12);
  return b;
}

const bodySizeArb = fc.oneof(
  fc.bigInt({ min: 0n, max: 1000n }),
  fc.constantFrom(2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n),
);

/** A stream of valid frames as a client might send them after the handshake. */
const streamArb: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: methodFrameArb },
      {
        weight: 2,
        arbitrary: fc
          .tuple(bodySizeArb, propertiesArb)
          .map(([s, p]) => encodeFrame(2, 1, headerPayload(s, p))),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => encodeFrame(3, 1, a)) },
      { weight: 1, arbitrary: fc.constant(HEARTBEAT_FRAME) },
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((frames) => Buffer.concat(frames));

// ---------------------------------------------------------------- decoding handler

/** Decodes every frame the way the connection would, so the reader's output is fuzzed too. */
const decodingHandler = {
  onProtocolHeader(): void {},
  onFrame(type: number, _channel: number, buf: Buffer, start: number, end: number): void {
    const payload = buf.subarray(start, end);
    if (type === 1) decodeMethod(payload, 0, payload.length);
    else if (type === 2) {
      const h = decodeContentHeader(payload);
      peekProperties(h.properties, 0, h.properties.length);
      decodeProperties(h.properties, 0, h.properties.length);
    }
  },
};

function feedReader(chunks: Buffer[], frameMax: number, header: boolean): void {
  const reader = new FrameReader(decodingHandler, { frameMax, protocolHeader: header });
  for (const c of chunks) reader.push(c);
}

const frameMaxArb = fc.constantFrom(4096, 131072);

// ---------------------------------------------------------------- the properties

export interface Target {
  name: string;
  property: (stats: FuzzStats) => fc.IProperty<never>;
}

function prop<Ts extends [unknown, ...unknown[]]>(
  arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  fn: (...args: Ts) => void,
): fc.IProperty<never> {
  return fc.property(...arbs, fn) as unknown as fc.IProperty<never>;
}

export const TARGETS: Target[] = [
  {
    name: 'frame reader: mutated valid frame streams, random chunking, decoded frame by frame',
    property: (s) =>
      prop(
        [streamArb, mutationsArb, fc.array(fc.nat(), { maxLength: 6 }), frameMaxArb],
        (bytes, muts, cuts, fm) =>
          contained(s, () => feedReader(chunked(applyMutations(bytes, muts), cuts), fm, false)),
      ),
  },
  {
    name: 'frame reader: protocol header then frames, mutated',
    property: (s) =>
      prop([streamArb, mutationsArb, fc.array(fc.nat(), { maxLength: 4 })], (bytes, muts, cuts) => {
        const withHeader = Buffer.concat([Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), bytes]);
        contained(s, () => feedReader(chunked(applyMutations(withHeader, muts), cuts), 4096, true));
      }),
  },
  {
    name: 'method decoder: every method id followed by arbitrary bytes',
    property: (s) =>
      prop([fc.constantFrom(...METHODS), fc.uint8Array({ maxLength: 300 })], (m, tail) => {
        const b = Buffer.alloc(4 + tail.length);
        b.writeUInt32BE(m.id >>> 0, 0);
        b.set(tail, 4);
        contained(s, () => decodeMethod(b, 0, b.length));
      }),
  },
  {
    name: 'method decoder: mutated valid methods of every class',
    property: (s) =>
      prop([methodFrameArb, mutationsArb], (frame, muts) => {
        const payload = applyMutations(frame.subarray(7, frame.length - 1), muts);
        contained(s, () => decodeMethod(payload, 0, payload.length));
      }),
  },
  {
    name: 'properties decoders: arbitrary flags and bytes',
    property: (s) =>
      prop([fc.uint8Array({ maxLength: 200 })], (bytes) => {
        const b = Buffer.from(bytes);
        contained(s, () => peekProperties(b, 0, b.length));
        contained(s, () => decodeProperties(b, 0, b.length));
      }),
  },
  {
    name: 'properties and content-header decoders: mutated valid headers',
    property: (s) =>
      prop([bodySizeArb, propertiesArb, mutationsArb], (size, props, muts) => {
        const b = applyMutations(headerPayload(size, props), muts);
        contained(s, () => {
          const h = decodeContentHeader(b);
          peekProperties(h.properties, 0, h.properties.length);
          decodeProperties(h.properties, 0, h.properties.length);
        });
      }),
  },
  {
    name: 'field-table decoders: mutated valid nested tables',
    property: (s) =>
      prop([tableArb, mutationsArb], (t, muts) => {
        const b = applyMutations(encodeFieldTable(t), muts);
        // The encoded table starts with its u32 length; decode the rest as the codec does.
        const len = b.length >= 4 ? b.readUInt32BE(0) : 0;
        contained(s, () => decodeFieldTable(b, 4, len));
        contained(s, () => decodeFieldTableExact(b, 4, b.length - 4));
      }),
  },
  {
    name: 'field-table decoders: arbitrary bytes, including deep nesting prefixes',
    property: (s) =>
      prop(
        [fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 100 })],
        (bytes, depth) => {
          // `depth` levels of 'a' -> F <exact length> around the random bytes, so the
          // decoder really descends (to its depth limit) before it meets the garbage.
          const b = Buffer.alloc(7 * depth + bytes.length);
          for (let i = 0; i < depth; i++) {
            b[7 * i] = 1;
            b[7 * i + 1] = 0x61;
            b[7 * i + 2] = 0x46;
            b.writeUInt32BE(b.length - 7 * (i + 1), 7 * i + 3);
          }
          b.set(bytes, 7 * depth);
          contained(s, () => decodeFieldTable(b, 0, b.length));
          contained(s, () => decodeFieldTableExact(b, 0, b.length));
        },
      ),
  },
];

/** Runs every target with `runs` inputs each; returns the statistics per target. */
export function runCodecFuzz(
  runs: number,
  seed?: number,
  only?: (name: string) => boolean,
): Map<string, FuzzStats> {
  const out = new Map<string, FuzzStats>();
  for (const target of TARGETS) {
    if (only !== undefined && !only(target.name)) continue;
    const stats: FuzzStats = { inputs: 0, decodeErrors: 0, maxMs: 0 };
    fc.assert(target.property(stats), {
      numRuns: runs,
      ...(seed === undefined ? {} : { seed }),
    });
    out.set(target.name, stats);
  }
  return out;
}
