/**
 * AMQP field tables and field arrays with RabbitMQ's type set (0-9-1 errata).
 *
 * Decoding maps wire types to JS like this:
 *
 * | octet             | JS value                                                            |
 * | ----------------- | ------------------------------------------------------------------- |
 * | t                 | `boolean`                                                           |
 * | b B s u I i f d   | `number` (int8, uint8, int16, uint16, int32, uint32, float, double) |
 * | l                 | `number` when exactly representable, otherwise `bigint`             |
 * | D                 | `{ '!': 'decimal', value: { places, digits } }` (as amqplib)        |
 * | T                 | `{ '!': 'timestamp', value: seconds }` (as amqplib)                 |
 * | S                 | `string` (UTF-8; invalid sequences become U+FFFD)                   |
 * | x                 | `Buffer` (a copy, so it never pins the socket chunk)                |
 * | A F V             | `FieldValue[]`, `FieldTable`, `null`                                |
 *
 * {@link decodeFieldTable} loses integer widths (an int32 5 comes back as the number 5);
 * {@link decodeFieldTableExact} wraps every value whose width encoding would not re-infer,
 * e.g. `{ '!': 'int32', value: 5 }`, so `encode(decodeExact(bytes))` reproduces `bytes`.
 * Use it when re-encoding someone else's headers (dead-lettering).
 *
 * Encoding infers the type of plain JS values exactly as amqplib does: string → S; integer →
 * b, s, I or l by range (l up to 2^63, d beyond); other numbers → d; boolean → t; bigint → l;
 * Buffer/Uint8Array → x; array → A; null → V; Date → T; other objects → F. Table entries
 * whose value is `undefined` are skipped (as amqplib does); `undefined` in an array is V.
 * `{ '!': type, value }` forces a type; `type` is an amqplib name (int8, uint8, int16, uint16,
 * int32, uint32, int64, float, double, decimal, timestamp, string, boolean, number, object)
 * or the wire octet itself. The untagged `{ type, value }` form is NOT a wrapper: amqplib
 * encodes it as a nested table and so do we, so such headers keep their meaning.
 *
 * Decoded tables are ordinary objects (so `deepStrictEqual` and spreading work); a
 * `__proto__` key becomes an own property via `defineProperty` and never touches a
 * prototype. Errors: truncation or a length past the end is 501, an unknown type octet or
 * nesting deeper than {@link MAX_FIELD_DEPTH} is 502 (both {@link AmqpDecodeError}).
 */
import {
  AmqpDecodeError,
  readUtf8,
  shortStrLength,
  writeInt64,
  writeUInt64,
  writeUtf8,
} from './constants.js';

export interface TypedFieldValue {
  readonly '!': string;
  readonly value: unknown;
}
export type FieldValue =
  string | number | bigint | boolean | null | Buffer | TypedFieldValue | FieldValue[] | FieldTable;
export interface FieldTable {
  [key: string]: FieldValue | undefined;
}

/** Tables and arrays nested deeper than this are rejected (decode: 502; encode: RangeError). */
export const MAX_FIELD_DEPTH = 64;

const TWO_32 = 4294967296;
// Wire type octets.
// prettier-ignore
const BOOL = 0x74, INT8 = 0x62, UINT8 = 0x42, INT16 = 0x73, UINT16 = 0x75, INT32 = 0x49;
// prettier-ignore
const UINT32 = 0x69, INT64 = 0x6c, FLOAT = 0x66, DOUBLE = 0x64, DECIMAL = 0x44;
// prettier-ignore
const LONGSTR = 0x53, BYTES = 0x78, ARRAY = 0x41, TIMESTAMP = 0x54, TABLE = 0x46, VOID = 0x56;
/** Payload size per type octet: fixed sizes, 4 (the length) for variable types, -1 unknown. */
const SIZE = new Int8Array(256).fill(-1);
// prettier-ignore
for (const [tag, n] of [[BOOL, 1], [INT8, 1], [UINT8, 1], [INT16, 2], [UINT16, 2], [INT32, 4],
  [UINT32, 4], [INT64, 8], [FLOAT, 4], [DOUBLE, 8], [TIMESTAMP, 8], [DECIMAL, 5], [VOID, 0],
  [LONGSTR, 4], [BYTES, 4], [ARRAY, 4], [TABLE, 4]] as const) SIZE[tag] = n;
/** Sentinel for "infer from the wrapped value". */
const INFER = 0;

/** amqplib's wrapper names for the widths that {@link decodeFieldTableExact} must preserve. */
// prettier-ignore
const WIDTH_NAME: Record<number, string> = {
  [INT8]: 'int8', [UINT8]: 'uint8', [INT16]: 'int16', [UINT16]: 'uint16', [INT32]: 'int32',
  [UINT32]: 'uint32', [INT64]: 'int64', [FLOAT]: 'float', [DOUBLE]: 'double',
};
// prettier-ignore
const NAMED_TAG = new Map<string, number>([
  ['int8', INT8], ['byte', INT8], ['uint8', UINT8], ['unsignedbyte', UINT8],
  ['int16', INT16], ['short', INT16], ['uint16', UINT16], ['unsignedshort', UINT16],
  ['int32', INT32], ['int', INT32], ['uint32', UINT32], ['unsignedint', UINT32],
  ['int64', INT64], ['long', INT64], ['float', FLOAT], ['double', DOUBLE], ['float64', DOUBLE],
  ['decimal', DECIMAL], ['timestamp', TIMESTAMP], ['string', LONGSTR], ['boolean', BOOL],
  ['number', INFER], ['object', INFER],
]);
for (const c of 'tbBsuIilfdDSxATFV') NAMED_TAG.set(c, c.charCodeAt(0));

// ---------------------------------------------------------------------------- decode

// Decoder state shared by the recursive readers (decoding is synchronous, so one copy suffices):
/** Read cursor. */
let pos = 0;
/** Keep wire widths ({@link decodeFieldTableExact}). */
let exactMode = false;

/** Decodes the table content `buf[offset, offset + length)` (after its 4-byte length). */
export function decodeFieldTable(buf: Buffer, offset: number, length: number): FieldTable {
  exactMode = false;
  return readTable(buf, offset, checkedEnd(buf, offset, length), 1);
}

/** Like {@link decodeFieldTable}, but keeps every wire width so re-encoding is byte-exact. */
export function decodeFieldTableExact(buf: Buffer, offset: number, length: number): FieldTable {
  exactMode = true;
  return readTable(buf, offset, checkedEnd(buf, offset, length), 1);
}

function checkedEnd(b: Buffer, offset: number, length: number): number {
  const end = offset + length;
  if (offset < 0 || length < 0 || end > b.length) throw truncated('field table');
  return end;
}

function truncated(what: string): AmqpDecodeError {
  return new AmqpDecodeError(501, `${what} runs past the end of its frame (a bad length)`);
}

function readTable(b: Buffer, start: number, end: number, depth: number): FieldTable {
  const t: FieldTable = {};
  let o = start;
  while (o < end) {
    const n = b[o]!;
    o++;
    if (o + n + 1 > end) throw truncated('field table key');
    const key = readUtf8(b, o, o + n);
    pos = o + n;
    const v = readValue(b, end, depth);
    o = pos;
    if (key === '__proto__') Object.defineProperty(t, key, ownProperty(v));
    else t[key] = v;
  }
  return t;
}

function readArray(b: Buffer, start: number, end: number, depth: number): FieldValue[] {
  const a: FieldValue[] = [];
  pos = start;
  while (pos < end) a.push(readValue(b, end, depth));
  return a;
}

const ownProperty = (value: FieldValue): PropertyDescriptor => ({
  ...{ value, enumerable: true, writable: true, configurable: true },
});

/** Reads one type octet + value at `pos`, never past `end`; leaves `pos` after it. */
function readValue(b: Buffer, end: number, depth: number): FieldValue {
  let o = pos;
  const tag = b[o]!; // callers checked o < end
  o++;
  const size = SIZE[tag]!;
  if (size < 0) throw unknownType(tag);
  if (o + size > end) throw truncated('field value');
  pos = o + size;
  switch (tag) {
    case LONGSTR:
    case BYTES:
    case ARRAY:
    case TABLE: {
      const n = b.readUInt32BE(o);
      o += 4;
      if (n > end - o) throw truncated('field value');
      pos = o + n;
      if (tag === LONGSTR) return readUtf8(b, o, o + n);
      if (tag === BYTES) return Buffer.from(b.subarray(o, o + n));
      if (depth >= MAX_FIELD_DEPTH) {
        throw new AmqpDecodeError(502, `field tables nested deeper than ${MAX_FIELD_DEPTH} levels`);
      }
      const v =
        tag === TABLE ? readTable(b, o, o + n, depth + 1) : readArray(b, o, o + n, depth + 1);
      pos = o + n;
      return v;
    }
    case BOOL:
      return b[o] !== 0;
    case INT8:
      return width(b.readInt8(o), tag);
    case UINT8:
      return width(b[o]!, tag);
    case INT16:
      return width(b.readInt16BE(o), tag);
    case UINT16:
      return width(b.readUInt16BE(o), tag);
    case INT32:
      return width(b.readInt32BE(o), tag);
    case UINT32:
      return width(b.readUInt32BE(o), tag);
    case INT64: {
      const v = b.readInt32BE(o) * TWO_32 + b.readUInt32BE(o + 4);
      return Number.isSafeInteger(v) ? width(v, tag) : unsafe(b.readBigInt64BE(o), exactMode);
    }
    case FLOAT:
      return width(b.readFloatBE(o), tag);
    case DOUBLE:
      return width(b.readDoubleBE(o), tag);
    case TIMESTAMP: {
      const v = b.readUInt32BE(o) * TWO_32 + b.readUInt32BE(o + 4);
      const value = Number.isSafeInteger(v) ? v : unsafe(b.readBigUInt64BE(o), false);
      return { '!': 'timestamp', value };
    }
    case DECIMAL:
      return { '!': 'decimal', value: { places: b[o]!, digits: b.readUInt32BE(o + 1) } };
    default: // VOID
      return null;
  }
}

function unknownType(tag: number): AmqpDecodeError {
  const c = String.fromCharCode(tag);
  return new AmqpDecodeError(
    502,
    `unknown field table type octet 0x${tag.toString(16)} ('${c}'): RabbitMQ's types are t b B s u I i l f d D S x A T F V`,
  );
}

/** In exact mode, wrap a number whose wire width encoding would not pick again. */
function width(v: number, tag: number): FieldValue {
  return exactMode && inferNumber(v) !== tag ? { '!': WIDTH_NAME[tag]!, value: v } : v;
}

/** A 64-bit integer beyond 2^53: a number if that is exact, else a bigint (which re-infers to l). */
function unsafe(big: bigint, exact: boolean): number | bigint | TypedFieldValue {
  const n = Number(big);
  if (BigInt(n) !== big) return big;
  return exact && inferNumber(n) !== INT64 ? { '!': 'int64', value: n } : n;
}

// ---------------------------------------------------------------------------- encode

/** The type octet amqplib picks for a JS number. */
function inferNumber(v: number): number {
  if (!Number.isInteger(v)) return DOUBLE;
  if (v >= -0x80 && v < 0x80) return INT8;
  if (v >= -0x8000 && v < 0x8000) return INT16;
  if (v >= -0x80000000 && v < 0x80000000) return INT32;
  return v >= -0x8000000000000000 && v < 0x8000000000000000 ? INT64 : DOUBLE;
}

function infer(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return LONGSTR;
    case 'number':
      return inferNumber(v);
    case 'boolean':
      return BOOL;
    case 'bigint':
      return INT64;
    case 'undefined':
      return VOID;
    case 'object':
      if (v === null) return VOID;
      if (Array.isArray(v)) return ARRAY;
      if (v instanceof Uint8Array) return BYTES;
      return v instanceof Date ? TIMESTAMP : TABLE;
    default:
      throw new TypeError(`a ${typeof v} cannot be encoded in a field table`);
  }
}

/** Resolves a value to its type octet, unwrapping `{ '!': type, value }` into `unwrapped`. */
let unwrapped: unknown;
function tagOf(v: unknown): number {
  if (typeof v === 'object' && v !== null && Object.hasOwn(v, '!')) {
    const w = v as TypedFieldValue;
    const tag = NAMED_TAG.get(w['!']);
    if (tag === undefined) throw new TypeError(`unknown field type '${w['!']}' in { '!': ... }`);
    unwrapped = w.value;
    return tag === INFER ? infer(w.value) : tag;
  }
  unwrapped = v;
  return infer(v);
}

/** Encoded size of a table including its 4-byte length prefix. `undefined`/`null` is empty. */
export function fieldTableSize(t: FieldTable | undefined | null): number {
  return tableSize(t, 1);
}

/** Writes a table with its 4-byte length prefix at `o`; returns the offset after it. */
export function writeFieldTable(b: Buffer, o: number, t: FieldTable | undefined | null): number {
  return writeTable(b, o, t, 1);
}

/** A table as its own buffer (length prefix included). */
export function encodeFieldTable(t: FieldTable | undefined | null): Buffer {
  const b = Buffer.allocUnsafe(fieldTableSize(t));
  writeFieldTable(b, 0, t);
  return b;
}

function tooDeep(): RangeError {
  return new RangeError(`field tables nested deeper than ${MAX_FIELD_DEPTH} levels (a cycle?)`);
}

function tableSize(t: FieldTable | undefined | null, depth: number): number {
  if (t === undefined || t === null) return 4;
  if (depth > MAX_FIELD_DEPTH) throw tooDeep();
  let size = 4;
  for (const k of Object.keys(t)) {
    const v = t[k];
    if (v !== undefined)
      size += 2 + shortStrLength(k, `field table key '${k}'`) + valueSize(v, depth);
  }
  return size;
}

function arraySize(a: unknown[], depth: number): number {
  if (depth > MAX_FIELD_DEPTH) throw tooDeep();
  let size = 4;
  for (const v of a) size += 1 + valueSize(v, depth);
  return size;
}

/** Size of a value after its type octet. */
function valueSize(v: unknown, depth: number): number {
  const tag = tagOf(v);
  const x = unwrapped;
  switch (tag) {
    case LONGSTR:
      return 4 + Buffer.byteLength(String(x));
    case BYTES:
      return 4 + bytes(x).length;
    case ARRAY:
      return arraySize(x as unknown[], depth + 1);
    case TABLE:
      return tableSize(x as FieldTable, depth + 1);
    default:
      return SIZE[tag]!;
  }
}

function writeTable(b: Buffer, o: number, t: FieldTable | undefined | null, depth: number): number {
  const start = o;
  o += 4;
  if (t !== undefined && t !== null) {
    for (const k of Object.keys(t)) {
      const v = t[k];
      if (v === undefined) continue;
      const n = Buffer.byteLength(k);
      b[o] = n;
      o = writeValue(b, writeUtf8(b, o + 1, k, n), v, depth);
    }
  }
  b.writeUInt32BE(o - start - 4, start);
  return o;
}

function writeValue(b: Buffer, o: number, v: unknown, depth: number): number {
  const tag = tagOf(v);
  const x = unwrapped;
  b[o++] = tag;
  switch (tag) {
    case LONGSTR: {
      const s = String(x);
      const n = Buffer.byteLength(s);
      b.writeUInt32BE(n, o);
      return writeUtf8(b, o + 4, s, n);
    }
    case BYTES: {
      const bytesX = bytes(x);
      b.writeUInt32BE(bytesX.length, o);
      b.set(bytesX, o + 4);
      return o + 4 + bytesX.length;
    }
    case ARRAY: {
      const start = o;
      o += 4;
      for (const e of x as unknown[]) o = writeValue(b, o, e, depth + 1);
      b.writeUInt32BE(o - start - 4, start);
      return o;
    }
    case TABLE:
      return writeTable(b, o, x as FieldTable, depth + 1);
    case BOOL:
      b[o] = x ? 1 : 0;
      return o + 1;
    case INT64:
      if (typeof x === 'bigint') return b.writeBigInt64BE(x, o);
      return writeInt64(b, o, Number(x));
    case TIMESTAMP:
      if (typeof x === 'bigint') return b.writeBigUInt64BE(x, o);
      return writeUInt64(b, o, x instanceof Date ? Math.floor(x.getTime() / 1000) : Number(x));
    case DECIMAL: {
      const d = x as { places?: unknown; digits?: unknown } | null;
      if (typeof d?.places !== 'number' || typeof d.digits !== 'number') {
        throw new TypeError(
          `a decimal must be { places: 0..255, digits: uint32 }, got ${String(x)}`,
        );
      }
      b.writeUInt8(d.places, o);
      return b.writeUInt32BE(d.digits, o + 1);
    }
    default: {
      const write = WRITE_NUMBER[tag]; // undefined for VOID
      return write === undefined ? o : b[write](Number(x), o);
    }
  }
}

/** Buffer writers for the fixed-size numeric types. */
// prettier-ignore
const WRITE_NUMBER: Partial<Record<number, 'writeInt8' | 'writeUInt8' | 'writeInt16BE' | 'writeUInt16BE' | 'writeInt32BE' | 'writeUInt32BE' | 'writeFloatBE' | 'writeDoubleBE'>> = {
  [INT8]: 'writeInt8', [UINT8]: 'writeUInt8', [INT16]: 'writeInt16BE', [UINT16]: 'writeUInt16BE',
  [INT32]: 'writeInt32BE', [UINT32]: 'writeUInt32BE', [FLOAT]: 'writeFloatBE', [DOUBLE]: 'writeDoubleBE',
};

function bytes(x: unknown): Uint8Array {
  if (x instanceof Uint8Array) return x;
  throw new TypeError(`a byte array ('x') must be a Buffer or Uint8Array, got ${typeof x}`);
}
