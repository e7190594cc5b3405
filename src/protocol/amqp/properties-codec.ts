import type { MessageProperties, PropertiesCodec } from '../../core/properties.js';
import type { FieldTable } from './field-table.js';
import { decodeProperties, encodeProperties } from './generated/properties.js';

/**
 * The broker's canonical property encoding: AMQP 0-9-1's basic property list. Messages
 * published over AMQP carry the publisher's bytes unchanged; other protocols' messages and
 * messages the core changed (x-death) are encoded here.
 */
export const amqpPropertiesCodec: PropertiesCodec = {
  decode(bytes: Buffer): MessageProperties {
    const p = decodeProperties(bytes, 0, bytes.length);
    const out: MessageProperties = {};
    // Only the fields that are set: a decoded message compares and copies cleanly.
    if (p.contentType !== undefined) out.contentType = p.contentType;
    if (p.contentEncoding !== undefined) out.contentEncoding = p.contentEncoding;
    if (p.headers !== undefined) out.headers = p.headers;
    if (p.deliveryMode !== undefined) out.deliveryMode = p.deliveryMode;
    if (p.priority !== undefined) out.priority = p.priority;
    if (p.correlationId !== undefined) out.correlationId = p.correlationId;
    if (p.replyTo !== undefined) out.replyTo = p.replyTo;
    if (p.expiration !== undefined) out.expiration = p.expiration;
    if (p.messageId !== undefined) out.messageId = p.messageId;
    if (p.timestamp !== undefined) out.timestamp = p.timestamp;
    if (p.type !== undefined) out.type = p.type;
    if (p.userId !== undefined) out.userId = p.userId;
    if (p.appId !== undefined) out.appId = p.appId;
    return out;
  },
  encode(p: MessageProperties): Buffer {
    return encodeProperties({
      ...p,
      headers: p.headers === undefined ? undefined : (p.headers as FieldTable),
    });
  },
};
