import type { Message } from './message.js';
import type { MessageProperties } from './message-properties.js';

export type { MessageProperties };

/**
 * The byte form of properties that messages carry, the store keeps and AMQP consumers receive
 * untouched. The broker is given one (server.ts passes the AMQP 0-9-1 basic property list, so
 * the common case, AMQP in and out, never re-encodes); every protocol and the core read and
 * write properties through it, so a message published by one protocol reads the same in all.
 */
export interface PropertiesCodec {
  decode(bytes: Buffer): MessageProperties;
  encode(properties: MessageProperties): Buffer;
  /**
   * A cheap test before decoding: false only if the bytes certainly carry no CC or BCC header
   * (the publish path asks it for every message). Absent: always decode.
   */
  mayHaveSenderKeys?(bytes: Buffer): boolean;
  /**
   * The same kind of test for every header the core acts on, in one pass: a set of HINT_*
   * bits, each clear only if the bytes certainly carry no such header. Absent: decode.
   */
  headerHints?(bytes: Buffer): number;
}

/** Header hints: CC or BCC (sender-selected routing) may be present. */
export const HINT_SENDER_KEYS = 1;
/** Header hints: x-group-id or JMSXGroupID (message groups) may be present. */
export const HINT_GROUP = 2;
const HINT_ALL = HINT_SENDER_KEYS | HINT_GROUP;

/** RabbitMQ's sender-selected distribution: extra routing keys from the CC and BCC headers. */
export interface SenderKeys {
  cc: string[];
  bcc: string[];
}

/** Reads properties lazily (decoded once per message, on first use) and makes changed copies. */
export class Properties {
  private readonly codec: PropertiesCodec;

  constructor(codec: PropertiesCodec) {
    this.codec = codec;
  }

  of(m: Message): Readonly<MessageProperties> {
    // No property bytes at all (a message built by a test or a protocol with none): no properties.
    return (m.decoded ??= m.properties.length === 0 ? {} : this.codec.decode(m.properties));
  }

  headers(m: Message): Readonly<Record<string, unknown>> | undefined {
    return this.of(m).headers;
  }

  header(m: Message, name: string): unknown {
    return this.of(m).headers?.[name];
  }

  encode(p: MessageProperties): Buffer {
    return this.codec.encode(p);
  }

  /** Decode property bytes that are not a message's own (a delivery's, with x-delivery-count). */
  decode(bytes: Buffer): MessageProperties {
    return bytes.length === 0 ? {} : this.codec.decode(bytes);
  }

  /** Which headers the core acts on `m` may carry (HINT_* bits), worked out once per message. */
  hints(m: Message): number {
    if (m.hints !== -1) return m.hints;
    const c = this.codec;
    let h = HINT_ALL;
    if (m.decoded !== undefined || m.properties.length === 0) {
      const headers = this.of(m).headers;
      h = headers === undefined ? 0 : HINT_ALL;
    } else if (c.headerHints !== undefined) h = c.headerHints(m.properties);
    return (m.hints = h);
  }

  /**
   * The message group of `m` (header x-group-id, or JMSXGroupID as ActiveMQ's clients send
   * it), undefined when it has none: the usual case costs a bit test.
   */
  groupOf(m: Message): string | undefined {
    if (m.group !== null) return m.group;
    let g: string | undefined;
    if ((this.hints(m) & HINT_GROUP) !== 0) {
      const h = this.of(m).headers;
      g = groupName(h?.['x-group-id']) ?? groupName(h?.['JMSXGroupID']);
    }
    m.group = g;
    return g;
  }

  /** The CC and BCC routing keys of a message, undefined when it has neither (the usual case). */
  senderKeys(m: Message): SenderKeys | undefined {
    if ((this.hints(m) & HINT_SENDER_KEYS) === 0) return undefined;
    const h = this.of(m).headers;
    if (h === undefined) return undefined;
    const cc = keyList(h.CC);
    const bcc = keyList(h.BCC);
    return cc.length === 0 && bcc.length === 0 ? undefined : { cc, bcc };
  }

  /**
   * A copy of `m` with changed properties (dead-lettering adds x-death): messages are shared
   * by every queue they were routed to, so they are never changed in place. The body is shared.
   */
  withProperties(m: Message, change: (p: MessageProperties) => MessageProperties): Message {
    const current = this.of(m);
    const next = change({ ...current, headers: { ...current.headers } });
    // What the core keeps beside the bytes follows the new properties.
    const persistent = next.deliveryMode === 2;
    let expiresAt = m.expiresAt;
    if (next.expiration !== current.expiration) {
      const ms = next.expiration === undefined ? NaN : Number(next.expiration);
      expiresAt = Number.isInteger(ms) && ms >= 0 ? Date.now() + ms : 0;
    }
    // A changed copy is a new arrival where it goes (a dead letter's TTL counts from now).
    return m.withEncodedProperties(
      this.codec.encode(next),
      next,
      persistent,
      expiresAt,
      Date.now(),
    );
  }
}

/** A group id header value: a string (longstr may arrive as bytes) or a number. */
function groupName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString();
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** A CC or BCC header value: an array of strings (longstr may arrive as bytes). */
function keyList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) {
    if (typeof x === 'string') out.push(x);
    else if (Buffer.isBuffer(x)) out.push(x.toString());
  }
  return out;
}
