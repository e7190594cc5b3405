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
  const ctLen = shortStrLength(consumerTag, 'basic.deliver consumerTag');
  const exLen = shortStrLength(exchange, 'basic.deliver exchange');
  const rkLen = shortStrLength(routingKey, 'basic.deliver routingKey');
  const payload = 16 + ctLen + exLen + rkLen;
  const b = Buffer.allocUnsafe(8 + payload + contentFramesSize(properties.length, body.length, frameMax)); // prettier-ignore
  let o = methodHeader(b, channel, payload, MethodId.BasicDeliver);
  b[o] = ctLen;
  o = writeUInt64(b, writeUtf8(b, o + 1, consumerTag, ctLen), deliveryTag);
  b[o++] = redelivered ? 1 : 0;
  b[o] = exLen;
  o = writeUtf8(b, o + 1, exchange, exLen);
  b[o] = rkLen;
  o = writeUtf8(b, o + 1, routingKey, rkLen);
  b[o++] = FRAME_END;
  writeContentFrames(b, o, channel, properties, body, frameMax);
  return b;
}

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
