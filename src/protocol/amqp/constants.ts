/**
 * Wire-level building blocks shared by the AMQP codec: framing constants, the one error type
 * decoding throws, and the UTF-8 / 64-bit primitives the generated code, the field-table
 * codec and the frame writer use. The spec's own constants (frame types, reply codes, class
 * ids) are generated into `generated/spec.ts` and re-exported here.
 */
import { BatonError } from '../../core/errors.js';

export * from './generated/spec.js';

/** The 8 bytes a client sends first: `AMQP` 0 0 9 1. A server answers a wrong header with these. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** type (1) + channel (2) + payload size (4). */
export const FRAME_HEADER_SIZE = 7;
/** Header plus the frame-end octet: a payload holds at most frame-max minus this. */
export const FRAME_OVERHEAD = 8;

/** The reply codes a decode failure maps to. */
export type DecodeReplyCode = 501 | 502 | 540;

const CODES = {
  501: 'BATON_FRAME_ERROR',
  502: 'BATON_SYNTAX_ERROR',
  540: 'BATON_NOT_IMPLEMENTED',
} as const;

/**
 * Bytes from a peer that cannot be decoded. Always closes the connection (`scope`
 * 'connection'); the reply code says why:
 * - 501 FRAME_ERROR: the bytes do not fit the frame or field structure (truncated, trailing
 *   bytes, a length past the end, a missing frame-end octet, an unknown frame type, a frame
 *   larger than frame-max);
 * - 502 SYNTAX_ERROR: a well-framed value that is not allowed (unknown field-table type
 *   octet, tables nested too deep, unknown property flags);
 * - 540 NOT_IMPLEMENTED: a class or method id this protocol version does not define.
 *
 * `classId`/`methodId` name the method being decoded (0 when unknown) so the connection can
 * put them in `connection.close`.
 */
export class AmqpDecodeError extends BatonError {
  readonly classId: number;
  readonly methodId: number;
  constructor(replyCode: DecodeReplyCode, message: string, methodKey = 0) {
    super(CODES[replyCode], replyCode, 'connection', message);
    this.classId = methodKey >>> 16;
    this.methodId = methodKey & 0xffff;
  }
}

/** Node's unchecked slice/write primitives (what `toString`/`write` call after validation). */
interface FastBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  utf8Write(s: string, offset: number, length: number): number;
}

/** `b.toString('utf8', start, end)` minus the overhead; short ASCII is built in JS (cheaper than the C++ call). */
export function readUtf8(b: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return '';
  if (n <= 8) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c > 0x7f) return (b as FastBuffer).utf8Slice(start, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return (b as FastBuffer).utf8Slice(start, end);
}

/** Writes `s` (whose UTF-8 length the caller computed) at `o`; returns the offset after it. */
export function writeUtf8(b: Buffer, o: number, s: string, byteLength: number): number {
  if (byteLength === s.length && byteLength <= 16) {
    for (let i = 0; i < byteLength; i++) b[o + i] = s.charCodeAt(i);
  } else if (byteLength > 0) {
    (b as FastBuffer).utf8Write(s, o, byteLength);
  }
  return o + byteLength;
}

/** UTF-8 length of a shortstr; throws RangeError past 255 bytes, naming the field. */
export function shortStrLength(s: string, field: string): number {
  if (s.length === 0) return 0;
  const n = Buffer.byteLength(s);
  if (n > 255) throw new RangeError(`${field} is ${n} bytes of UTF-8; a shortstr holds 255`);
  return n;
}

const TWO_32 = 4294967296;

/** Writes an unsigned 64-bit integer (exact up to 2^53) as two 32-bit halves, no BigInt. */
export function writeUInt64(b: Buffer, o: number, v: number): number {
  const hi = Math.floor(v / TWO_32);
  b.writeUInt32BE(hi, o);
  return b.writeUInt32BE(v - hi * TWO_32, o + 4);
}

/** Writes a signed 64-bit integer (any integer-valued number in the int64 range) as two halves. */
export function writeInt64(b: Buffer, o: number, v: number): number {
  const hi = Math.floor(v / TWO_32);
  b.writeInt32BE(hi, o);
  return b.writeUInt32BE(v - hi * TWO_32, o + 4);
}
