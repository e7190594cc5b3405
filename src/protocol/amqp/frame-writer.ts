/**
 * Frame builders for the server's output. Everything returns one exactly-sized Buffer so a
 * delivery (method + content header + body frames) is a single socket write; the connection
 * owns the socket and corks it per event-loop turn. Generic method frames come from the
 * generated `encodeMethodFrame` / `encode<Method>Frame`; the functions here are hand-unrolled
 * for the hot methods and take positional arguments, so no argument object is built.
 *
 * `properties` arguments are the encoded flags + property list, as kept from the publisher's
 * content header (see `decodeContentHeader`) or made by `encodeProperties`.
 */
import { FRAME_END, shortStrLength, writeUInt64, writeUtf8 } from './constants.js';
import { MethodId } from './generated/methods.js';
import { PROPERTIES_CLASS_ID } from './generated/properties.js';

/** The heartbeat frame: type 8, channel 0, empty payload. */
export const HEARTBEAT_FRAME: Buffer = Buffer.from([8, 0, 0, 0, 0, 0, 0, FRAME_END]);
/** A property list with no properties set (flags word 0). */
export const EMPTY_PROPERTIES: Buffer = Buffer.from([0, 0]);

/** Largest body-frame payload for a frame-max (0 = unlimited). */
function bodyChunk(frameMax: number, bodyLength: number): number {
  if (frameMax > 8) return frameMax - 8;
  if (frameMax === 0) return Math.max(bodyLength, 1);
  throw new RangeError(`frame-max ${frameMax} leaves no room for a body frame payload`);
}

/** Writes the frame header of a method frame whose payload is `size` bytes, and the method id. */
function methodHeader(b: Buffer, channel: number, size: number, id: number): number {
  b[0] = 1;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(size, 3);
  return b.writeUInt32BE(id, 7);
}

/** A frame around any payload. */
export function encodeFrame(type: number, channel: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(payload.length + 8);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  b.set(payload, 7);
  b[payload.length + 7] = FRAME_END;
  return b;
}

/** Bytes of a content header frame plus the body frames for a body split at frame-max. */
export function contentFramesSize(
  propertiesLength: number,
  bodyLength: number,
  frameMax: number,
): number {
  const chunk = bodyChunk(frameMax, bodyLength);
  return 20 + propertiesLength + bodyLength + 8 * Math.ceil(bodyLength / chunk);
}

/**
 * Writes the content header frame and the body frames (none for an empty body, as RabbitMQ
 * does) at `o`; returns the offset after them.
 */
export function writeContentFrames(
  b: Buffer,
  o: number,
  channel: number,
  properties: Buffer,
  body: Buffer,
  frameMax: number,
): number {
  const length = body.length;
  b[o] = 2;
  b.writeUInt16BE(channel, o + 1);
  b.writeUInt32BE(12 + properties.length, o + 3);
  b.writeUInt16BE(PROPERTIES_CLASS_ID, o + 7);
  b.writeUInt16BE(0, o + 9); // weight
  writeUInt64(b, o + 11, length);
  b.set(properties, o + 19); // set() beats copy() for small buffers
  o += 19 + properties.length;
  b[o++] = FRAME_END;
  const chunk = bodyChunk(frameMax, length);
  for (let i = 0; i < length; i += chunk) {
    const n = Math.min(chunk, length - i);
    b[o] = 3;
    b.writeUInt16BE(channel, o + 1);
    b.writeUInt32BE(n, o + 3);
    if (n === length) b.set(body, o + 7);
    else body.copy(b, o + 7, i, i + n);
    o += 7 + n;
    b[o++] = FRAME_END;
  }
  return o;
}

/** Content header + body frames as one buffer (after a method frame sent separately). */
export function encodeContentFrames(
  channel: number,
  properties: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer {
  const b = Buffer.allocUnsafe(contentFramesSize(properties.length, body.length, frameMax));
  writeContentFrames(b, 0, channel, properties, body, frameMax);
  return b;
}

/** basic.deliver + content header + body frames as one buffer. */
export function encodeDelivery(
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
  properties: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer {
  const ct = new ShortStrCache('basic.deliver consumerTag').get(consumerTag);
  const ex = new ShortStrCache('basic.deliver exchange').get(exchange);
  const rk = new ShortStrCache('basic.deliver routingKey').get(routingKey);
  const b = Buffer.allocUnsafe(deliverySize(ct, ex, rk, properties, body, frameMax));
  writeDelivery(b, 0, channel, ct, deliveryTag, redelivered, ex, rk, properties, body, frameMax);
  return b;
}

/** Bytes of a basic.deliver with its content frames; the shortstrs come encoded. */
export function deliverySize(
  consumerTag: Buffer,
  exchange: Buffer,
  routingKey: Buffer,
  properties: Buffer,
  body: Buffer,
  frameMax: number,
): number {
  return (
    24 +
    consumerTag.length +
    exchange.length +
    routingKey.length +
    contentFramesSize(properties.length, body.length, frameMax)
  );
}

/**
 * Writes basic.deliver + content header + body frames at `o` (room for `deliverySize` bytes);
 * returns the offset after them. The shortstrs come encoded (see ShortStrCache), so a delivery
 * encodes no string.
 */
export function writeDelivery(
  b: Buffer,
  o: number,
  channel: number,
  consumerTag: Buffer,
  deliveryTag: number,
  redelivered: boolean,
  exchange: Buffer,
  routingKey: Buffer,
  properties: Buffer,
  body: Buffer,
  frameMax: number,
): number {
  const payload = 16 + consumerTag.length + exchange.length + routingKey.length;
  b[o] = 1;
  b.writeUInt16BE(channel, o + 1);
  b.writeUInt32BE(payload, o + 3);
  o = b.writeUInt32BE(MethodId.BasicDeliver, o + 7);
  o = putShortStr(b, o, consumerTag);
  o = writeUInt64(b, o, deliveryTag);
  b[o++] = redelivered ? 1 : 0;
  o = putShortStr(b, putShortStr(b, o, exchange), routingKey);
  b[o++] = FRAME_END;
  return writeContentFrames(b, o, channel, properties, body, frameMax);
}

function putShortStr(b: Buffer, o: number, s: Buffer): number {
  const n = s.length;
  b[o++] = n;
  if (n <= 16) for (let i = 0; i < n; i++) b[o + i] = s[i]!;
  else b.set(s, o);
  return o + n;
}

/**
 * The UTF-8 bytes of the last string asked for, kept: a channel's deliveries mostly repeat
 * their consumer tag, exchange and routing key, so they are encoded once, not per message.
 */
export class ShortStrCache {
  private last = '';
  private bytes: Buffer = EMPTY_BYTES;
  private readonly field: string;

  constructor(field: string) {
    this.field = field;
  }

  get(s: string): Buffer {
    if (s === this.last) return this.bytes;
    const n = shortStrLength(s, this.field);
    this.bytes = n === 0 ? EMPTY_BYTES : Buffer.from(s);
    this.last = s;
    return this.bytes;
  }
}

const EMPTY_BYTES = Buffer.alloc(0);

/** basic.get-ok + content header + body frames as one buffer. */
export function encodeGetOk(
  channel: number,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
  messageCount: number,
  properties: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer {
  const exLen = shortStrLength(exchange, 'basic.get-ok exchange');
  const rkLen = shortStrLength(routingKey, 'basic.get-ok routingKey');
  const payload = 19 + exLen + rkLen;
  const b = Buffer.allocUnsafe(8 + payload + contentFramesSize(properties.length, body.length, frameMax)); // prettier-ignore
  let o = writeUInt64(b, methodHeader(b, channel, payload, MethodId.BasicGetOk), deliveryTag);
  b[o++] = redelivered ? 1 : 0;
  b[o] = exLen;
  o = writeUtf8(b, o + 1, exchange, exLen);
  b[o] = rkLen;
  o = b.writeUInt32BE(messageCount, writeUtf8(b, o + 1, routingKey, rkLen));
  b[o++] = FRAME_END;
  writeContentFrames(b, o, channel, properties, body, frameMax);
  return b;
}

/** basic.return + content header + body frames as one buffer. */
export function encodeReturn(
  channel: number,
  replyCode: number,
  replyText: string,
  exchange: string,
  routingKey: string,
  properties: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer {
  const rtLen = shortStrLength(replyText, 'basic.return replyText');
  const exLen = shortStrLength(exchange, 'basic.return exchange');
  const rkLen = shortStrLength(routingKey, 'basic.return routingKey');
  const payload = 9 + rtLen + exLen + rkLen;
  const b = Buffer.allocUnsafe(8 + payload + contentFramesSize(properties.length, body.length, frameMax)); // prettier-ignore
  let o = b.writeUInt16BE(replyCode, methodHeader(b, channel, payload, MethodId.BasicReturn));
  b[o] = rtLen;
  o = writeUtf8(b, o + 1, replyText, rtLen);
  b[o] = exLen;
  o = writeUtf8(b, o + 1, exchange, exLen);
  b[o] = rkLen;
  o = writeUtf8(b, o + 1, routingKey, rkLen);
  b[o++] = FRAME_END;
  writeContentFrames(b, o, channel, properties, body, frameMax);
  return b;
}

/** basic.ack (publisher confirm), 21 bytes. */
export function encodeBasicAck(channel: number, deliveryTag: number, multiple: boolean): Buffer {
  const b = Buffer.allocUnsafe(21);
  writeUInt64(b, methodHeader(b, channel, 13, MethodId.BasicAck), deliveryTag);
  b[19] = multiple ? 1 : 0;
  b[20] = FRAME_END;
  return b;
}

/** basic.nack (publisher confirm failure), 21 bytes. */
export function encodeBasicNack(
  channel: number,
  deliveryTag: number,
  multiple: boolean,
  requeue: boolean,
): Buffer {
  const b = Buffer.allocUnsafe(21);
  writeUInt64(b, methodHeader(b, channel, 13, MethodId.BasicNack), deliveryTag);
  b[19] = (multiple ? 1 : 0) | (requeue ? 2 : 0);
  b[20] = FRAME_END;
  return b;
}
