import {
  HINT_GROUP,
  HINT_SENDER_KEYS,
  type MessageProperties,
  type PropertiesCodec,
} from '../../core/properties.js';
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
 * Which of the headers the core acts on the bytes may carry. A header name is a shortstr: its
 * length byte, then its bytes; look for \x02CC, \x03BCC, \x0ax-group-id and \x0bJMSXGroupID
 * by their last bytes. A plain loop: these lists are short, and a native indexOf costs more.
 */
function headerHints(bytes: Buffer): number {
  // No headers flag (bit 13 of the big-endian flag word): no headers at all.
  if (bytes.length < 5 || (bytes[0]! & 0x20) === 0) return 0;
  let hints = 0;
  for (let i = 3; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x43) {
      if (bytes[i - 1] !== 0x43) continue;
      const before = bytes[i - 2];
      if (before === 2 || (before === 0x42 && bytes[i - 3] === 3)) hints |= HINT_SENDER_KEYS;
    } else if (b === 0x64) {
      // "x-group-id": ...-id
      if (i >= 10 && bytes[i - 1] === 0x69 && bytes[i - 2] === 0x2d && bytes[i - 10] === 10)
        hints |= HINT_GROUP;
    } else if (b === 0x44) {
      // "JMSXGroupID": ...pID
      if (i >= 11 && bytes[i - 1] === 0x49 && bytes[i - 2] === 0x70 && bytes[i - 11] === 11)
        hints |= HINT_GROUP;
    }
  }
  return hints;
}

/**
 * The broker's canonical property encoding: AMQP 0-9-1's basic property list. Messages
 * published over AMQP carry the publisher's bytes unchanged; other protocols' messages and
 * messages the core changed (x-death) are encoded here.
 */
export const amqpPropertiesCodec: PropertiesCodec = {
  mayHaveSenderKeys(bytes: Buffer): boolean {
    return (headerHints(bytes) & HINT_SENDER_KEYS) !== 0;
  },
  headerHints,
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
