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
}

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

  /** The CC and BCC routing keys of a message, undefined when it has neither (the usual case). */
  senderKeys(m: Message): SenderKeys | undefined {
    const c = this.codec;
    if (
      m.decoded === undefined &&
      c.mayHaveSenderKeys !== undefined &&
      !c.mayHaveSenderKeys(m.properties)
    )
      return undefined;
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
