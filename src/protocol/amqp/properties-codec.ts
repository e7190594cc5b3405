import type { MessageProperties, PropertiesCodec } from '../../core/properties.js';
import {
  decodeProperties,
  encodeProperties,
  type BasicProperties,
  type BasicPropertiesInput,
} from './generated/properties.js';

/** The basic properties the core models (cluster-id is deprecated and not carried). */
const FIELDS = [
  'contentType',
  'contentEncoding',
  'headers',
  'deliveryMode',
  'priority',
  'correlationId',
  'replyTo',
  'expiration',
  'messageId',
  'timestamp',
  'type',
  'userId',
  'appId',
] as const satisfies readonly (keyof BasicProperties & keyof MessageProperties)[];

/**
 * The broker's canonical property encoding: AMQP 0-9-1's basic property list. Messages
 * published over AMQP carry the publisher's bytes unchanged; other protocols' messages and
 * messages the core changed (x-death) are encoded here.
 */
export const amqpPropertiesCodec: PropertiesCodec = {
  mayHaveSenderKeys(bytes: Buffer): boolean {
    // No headers flag (bit 13 of the big-endian flag word): no headers at all.
    if (bytes.length < 5 || (bytes[0]! & 0x20) === 0) return false;
    // A header name is a shortstr: its length byte, then its bytes; look for \x02CC or
    // \x03BCC. A plain loop: these lists are short, and a native indexOf call costs more.
    for (let i = 3; i < bytes.length; i++) {
      if (bytes[i] !== 0x43 || bytes[i - 1] !== 0x43) continue;
      const before = bytes[i - 2];
      if (before === 2 || (before === 0x42 && bytes[i - 3] === 3)) return true;
    }
    return false;
  },
  decode(bytes: Buffer): MessageProperties {
    const p = decodeProperties(bytes, 0, bytes.length);
    const out: Record<string, unknown> = {};
    // Only the fields that are set, so a decoded message copies and compares cleanly.
    for (const k of FIELDS) if (p[k] !== undefined) out[k] = p[k];
    return out;
  },
  encode(p: MessageProperties): Buffer {
    // Header values are field values: the core only writes what a field table can hold.
    return encodeProperties(p as BasicPropertiesInput);
  },
};
