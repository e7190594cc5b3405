import type { MessageLocation, StoredMessage } from '../store/store.js';

/**
 * One published message, shared by every queue it was routed to. Properties are the
 * protocol's encoded bytes, passed through untouched; the core reads only the fields beside them.
 */
export class Message implements StoredMessage {
  exchange: string;
  routingKey: string;
  properties: Buffer;
  body: Buffer | undefined;
  bodySize: number;
  priority: number;
  expiresAt: number;
  location: MessageLocation | undefined;
  persistent: boolean;
  /** Decoded application headers, filled on demand by the protocol that published it. */
  headers: Record<string, unknown> | undefined;
  /** How many queue entries still hold this message. */
  refs: number;

  constructor(
    exchange: string,
    routingKey: string,
    properties: Buffer,
    body: Buffer,
    persistent: boolean,
    priority = 0,
    expiresAt = 0,
  ) {
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.properties = properties;
    this.body = body;
    this.bodySize = body.length;
    this.priority = priority;
    this.expiresAt = expiresAt;
    this.location = undefined;
    this.persistent = persistent;
    this.headers = undefined;
    this.refs = 0;
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
    );
    m.body = sm.body;
    m.bodySize = sm.bodySize;
    m.location = sm.location;
    return m;
  }
}

const EMPTY = Buffer.alloc(0);
