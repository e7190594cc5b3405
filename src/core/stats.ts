/**
 * Message counters as RabbitMQ names them, for the management API (message_stats) and
 * Prometheus (rabbitmq_global_messages_*_total). Plain number fields: a bump on the hot path
 * is one add, and readers (scrapes, rate samplers) copy them when they ask.
 */

/** Dead-letter reasons as RabbitMQ's metrics label them. */
export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  'rejected',
  'expired',
  'maxlen',
  'delivery_limit',
];

/** Messages that left a queue for one dead-letter reason, by reason. */
export class DeadLetterCounts {
  rejected = 0;
  expired = 0;
  maxlen = 0;
  delivery_limit = 0;
}

/** One virtual host's counters; the broker's global figures are the sum over its vhosts. */
export class VhostStats {
  /** Messages received from publishers (basic.publish, HTTP publish). */
  received = 0;
  /** Of those, on channels in confirm mode. */
  receivedConfirm = 0;
  /** Published messages routed to at least one queue (or held by a delayed exchange). */
  routed = 0;
  /** Unroutable and not mandatory: dropped. */
  unroutableDropped = 0;
  /** Unroutable and mandatory: returned to the publisher. */
  unroutableReturned = 0;
  /** Publisher confirms sent (basic.ack to a publisher), one per message. */
  confirmed = 0;
  deliveredConsumeManualAck = 0;
  deliveredConsumeAutoAck = 0;
  deliveredGetManualAck = 0;
  deliveredGetAutoAck = 0;
  getEmpty = 0;
  /** Deliveries (consume or get) of messages delivered before. */
  redelivered = 0;
  /** Consumer acks (each message counts, also under multiple). */
  acknowledged = 0;
  /**
   * Dead-lettered from classic queues: republished to the queue's dead-letter exchange
   * (RabbitMQ's dead_letter_strategy "at_most_once").
   */
  deadLettered = new DeadLetterCounts();
  /** Left a classic queue for a dead-letter reason with no dead-letter exchange ("disabled"). */
  deadLetterDropped = new DeadLetterCounts();
  /** The same two for quorum queues (x-queue-type quorum). */
  quorumDeadLettered = new DeadLetterCounts();
  quorumDeadLetterDropped = new DeadLetterCounts();
  connectionsOpened = 0;
  connectionsClosed = 0;
  channelsOpened = 0;
  channelsClosed = 0;
  /** queue.declare calls that succeeded (not passive), new queue or not. */
  queuesDeclared = 0;
  queuesCreated = 0;
  queuesDeleted = 0;

  /** Add `other`'s counts to these (the broker's sum over vhosts). */
  add(other: VhostStats): this {
    for (const key of NUMBER_FIELDS) this[key] += other[key];
    for (const key of COUNT_FIELDS)
      for (const reason of DEAD_LETTER_REASONS) this[key][reason] += other[key][reason];
    return this;
  }

  /** Dead-lettered for any reason, from any queue type (republished, not dropped). */
  deadLetteredTotal(): number {
    let n = 0;
    for (const r of DEAD_LETTER_REASONS) n += this.deadLettered[r] + this.quorumDeadLettered[r];
    return n;
  }
}

type NumberField = {
  [K in keyof VhostStats]: VhostStats[K] extends number ? K : never;
}[keyof VhostStats];
type CountField = {
  [K in keyof VhostStats]: VhostStats[K] extends DeadLetterCounts ? K : never;
}[keyof VhostStats];

const COUNT_FIELDS: readonly CountField[] = [
  'deadLettered',
  'deadLetterDropped',
  'quorumDeadLettered',
  'quorumDeadLetterDropped',
];
const SAMPLE = new VhostStats();
const NUMBER_FIELDS = (Object.keys(SAMPLE) as (keyof VhostStats)[]).filter(
  (k): k is NumberField => typeof SAMPLE[k] === 'number',
);

/** One queue's counters: RabbitMQ's queue message_stats. */
export class QueueStats {
  /** Messages enqueued (routed here, dead-lettered here, redriven here). */
  publish = 0;
  /** Deliveries to consumers that ack. */
  deliver = 0;
  /** Deliveries to no-ack consumers. */
  deliverNoAck = 0;
  get = 0;
  getNoAck = 0;
  getEmpty = 0;
  redeliver = 0;
  ack = 0;
  /** Messages that left this queue dead-lettered (any reason). */
  deadLettered = 0;
}
