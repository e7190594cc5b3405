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
  /** Lease expiry for sessions whose deliveries time out (Date.now() ms), else 0. */
  deadline: number;
  /**
   * Deliveries that came back unsettled (nack or reject with requeue, session end, lease or
   * consumer timeout): what x-delivery-limit counts and x-delivery-count reports.
   */
  failures: number;
  /** While it waits out a retry delay (x-delayed-retry-*): when it is ready again, else 0. */
  readyAt: number;
  /** While unacked: when the consumer timeout closes its channel (steadyNow() ms), else 0. */
  timeoutAt: number;
  /** Properties as delivered when they differ from the message's (x-delivery-count). */
  sentProperties: Buffer | undefined;
  /** The message group this entry holds (message-groups.ts), while it holds one. */
  group: string | undefined;

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
    this.deadline = 0;
    this.failures = 0;
    this.readyAt = 0;
    this.timeoutAt = 0;
    this.sentProperties = undefined;
    this.group = undefined;
  }

  /** The properties a protocol sends with this delivery. */
  get properties(): Buffer {
    return this.sentProperties ?? this.message.properties;
  }
}
