import type { MessageProperties, PropertiesCodec } from '../../core/properties.js';
import {
  decodeProperties,
  encodeProperties,
  type BasicProperties,
  type BasicPropertiesInput,
} from './generated/properties.js';

const keys = new Map<string, Buffer>();

function shortstrKey(name: string): Buffer {
  let k = keys.get(name);
  if (k === undefined) {
    const b = Buffer.from(name);
    keys.set(name, (k = Buffer.concat([Buffer.from([b.length]), b])));
  }
  return k;
}

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
  mayHaveHeader(bytes: Buffer, name: string): boolean {
    // A header name is a shortstr in the field table: its length byte, then its bytes. No
    // match means no such header; a match may be a value's bytes (decode to be sure).
    return bytes.length > 2 && bytes.indexOf(shortstrKey(name)) !== -1;
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
