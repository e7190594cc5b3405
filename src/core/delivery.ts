/** What a protocol may read of a queue: enough for declare-ok, get-ok and listings. */
export interface QueueView {
  readonly name: string;
  readonly vhostName: string;
  readonly messageCount: number;
  readonly consumerCount: number;
}

/** What a protocol may read of a delivered message. The core owns and may change the rest. */
export interface MessageView {
  readonly exchange: string;
  readonly routingKey: string;
  /** Properties in the canonical encoding (passed through to AMQP consumers untouched). */
  readonly properties: Buffer;
  /** Loaded before any delivery is handed out. */
  readonly body: Buffer | undefined;
  readonly bodySize: number;
  readonly persistent: boolean;
}

/**
 * A delivery as protocols see it: read-only. The core's QueueEntry implements it; a protocol
 * settles a delivery through its session by tag, never by touching the entry.
 */
export interface Delivery {
  readonly tag: number;
  readonly redelivered: boolean;
  /** How many times it has been handed out, this one included. */
  readonly deliveryCount: number;
  readonly message: MessageView;
  /**
   * The properties to send: the message's, or a copy with headers the queue adds to this
   * delivery (x-delivery-count). Protocols send these, not `message.properties`.
   */
  readonly properties: Buffer;
  /** Deliveries of it that came back unsettled before this one. */
  readonly failures: number;
  readonly queue: QueueView;
  /** When an unsettled lease expires and the message goes back (Date.now() ms); 0 for never. */
  readonly deadline: number;
}
