import type { Consumer } from './consumer.js';
import type { Delivery } from './delivery.js';
import type { Message } from './message.js';
import type { Queue } from './queue.js';
import type { Session } from './session.js';

/**
 * A message's place in one queue. The same object is the delivery while it is unacked
 * (tag, consumer, session set), so dispatch allocates nothing beyond it.
 */
export class QueueEntry implements Delivery {
  queue: Queue;
  seq: number;
  message: Message;
  redelivered: boolean;
  deliveryCount: number;
  /** True when the store holds this (queue, seq) and must be told when it goes. */
  journaled: boolean;
  tag: number;
  consumer: Consumer | undefined;
  session: Session | undefined;
  /**
   * Deliveries that came back unsettled (nack or reject with requeue, session end, lease or
   * consumer timeout): what x-delivery-limit counts and x-delivery-count reports.
   */
  failures: number;
  /** While unacked: when the consumer timeout closes its channel (steadyNow() ms), else 0. */
  timeoutAt: number;
  /**
   * What few entries ever set (leases, retry delays, x-delivery-count, message groups), in an
   * object of its own made on first use: every entry lives as long as its message (often long
   * enough to be promoted), so its slots cost the garbage collector for each message.
   */
  private extras: EntryExtras | undefined;

  constructor(queue: Queue, seq: number, message: Message, journaled: boolean) {
    this.queue = queue;
    this.seq = seq;
    this.message = message;
    this.redelivered = false;
    this.deliveryCount = 0;
    this.journaled = journaled;
    this.tag = 0;
    this.consumer = undefined;
    this.session = undefined;
    this.failures = 0;
    this.timeoutAt = 0;
    this.extras = undefined;
  }

  /** Lease expiry for sessions whose deliveries time out (Date.now() ms), else 0. */
  get deadline(): number {
    return this.extras === undefined ? 0 : this.extras.deadline;
  }

  set deadline(ms: number) {
    if (this.extras !== undefined) this.extras.deadline = ms;
    else if (ms !== 0) (this.extras = new EntryExtras()).deadline = ms;
  }

  /** While it waits out a retry delay (x-delayed-retry-*): when it is ready again, else 0. */
  get readyAt(): number {
    return this.extras === undefined ? 0 : this.extras.readyAt;
  }

  set readyAt(ms: number) {
    if (this.extras !== undefined) this.extras.readyAt = ms;
    else if (ms !== 0) (this.extras = new EntryExtras()).readyAt = ms;
  }

  /** Properties as delivered when they differ from the message's (x-delivery-count). */
  get sentProperties(): Buffer | undefined {
    return this.extras?.sentProperties;
  }

  set sentProperties(p: Buffer | undefined) {
    if (this.extras !== undefined) this.extras.sentProperties = p;
    else if (p !== undefined) (this.extras = new EntryExtras()).sentProperties = p;
  }

  /** The message group this entry holds (message-groups.ts), while it holds one. */
  get group(): string | undefined {
    return this.extras?.group;
  }

  set group(g: string | undefined) {
    if (this.extras !== undefined) this.extras.group = g;
    else if (g !== undefined) (this.extras = new EntryExtras()).group = g;
  }

  /** The properties a protocol sends with this delivery. */
  get properties(): Buffer {
    return this.extras?.sentProperties ?? this.message.properties;
  }
}

/** A queue entry's rarely used fields (see `QueueEntry.extras`). */
class EntryExtras {
  deadline = 0;
  readyAt = 0;
  sentProperties: Buffer | undefined = undefined;
  group: string | undefined = undefined;
}
