import type { MessageLocation, StoredMessage } from '../store/store.js';
import type { MessageProperties } from './message-properties.js';

/**
 * One published message, shared by every queue it was routed to, and never changed once
 * routed (a changed message is a copy: `Properties.withProperties`). `properties` is the
 * canonical byte form (see properties.ts), passed through untouched to AMQP consumers; the
 * core reads them decoded, on demand, through the broker's `Properties`.
 */
export class Message implements StoredMessage {
  exchange: string;
  routingKey: string;
  properties: Buffer;
  body: Buffer | undefined;
  bodySize: number;
  priority: number;
  expiresAt: number;
  /** Wall-clock ms at which the broker accepted it (queue TTLs count from it); 0 = unknown. */
  timestamp: number;
  location: MessageLocation | undefined;
  persistent: boolean;
  /** `properties` decoded, filled on first use (Properties.of). */
  decoded: Readonly<MessageProperties> | undefined;
  /** How many queue entries still hold this message. */
  refs: number;
  /** Which headers the core acts on it may carry (Properties.hints), -1 until worked out. */
  hints: number;
  /** Its message group (Properties.groupOf); null until worked out. */
  group: string | undefined | null;

  constructor(
    exchange: string,
    routingKey: string,
    properties: Buffer,
    body: Buffer,
    persistent: boolean,
    priority = 0,
    expiresAt = 0,
    timestamp = Date.now(),
  ) {
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.properties = properties;
    this.body = body;
    this.bodySize = body.length;
    this.priority = priority;
    this.expiresAt = expiresAt;
    this.timestamp = timestamp;
    this.location = undefined;
    this.persistent = persistent;
    this.decoded = undefined;
    this.refs = 0;
    this.hints = -1;
    this.group = null;
  }

  /**
   * The same message with other properties (not yet routed or journaled: no location). It
   * keeps the original's arrival `timestamp` unless given another (a dead-letter copy arrives
   * at its target queue now: pass Date.now()).
   */
  withEncodedProperties(
    properties: Buffer,
    decoded: MessageProperties,
    persistent: boolean,
    expiresAt: number,
    timestamp = this.timestamp,
  ): Message {
    const m = new Message(
      this.exchange,
      this.routingKey,
      properties,
      EMPTY,
      persistent,
      decoded.priority ?? 0,
      expiresAt,
      timestamp,
    );
    m.body = this.body;
    m.bodySize = this.bodySize;
    m.decoded = decoded;
    return m;
  }

  /** A journaled message read back (recovery, paging): persistent by definition. */
  static fromStored(sm: StoredMessage): Message {
    const m = new Message(
      sm.exchange,
      sm.routingKey,
      sm.properties,
      EMPTY,
      true,
      sm.priority,
      sm.expiresAt,
      // Unknown (a record older than timestamps): count a queue TTL from the restart.
      sm.timestamp === 0 ? Date.now() : sm.timestamp,
    );
    m.body = sm.body;
    m.bodySize = sm.bodySize;
    m.location = sm.location;
    return m;
  }
}

const EMPTY = Buffer.alloc(0);
