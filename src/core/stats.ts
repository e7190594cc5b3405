/**
 * Message counters as RabbitMQ names them, for the management API (message_stats) and
 * Prometheus (rabbitmq_global_messages_*_total). Plain number fields: a bump on the hot path
 * is one add, and readers (scrapes, rate samplers) copy them when they ask.
 */

/** Dead-letter reasons as RabbitMQ's metrics label them. */
export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

/** One virtual host's counters; the broker's global figures are the sum over its vhosts. */
export class VhostStats {
  /** Messages received from publishers (basic.publish, HTTP publish). */
  received = 0;
  /** Of those, on channels in confirm mode. */
  receivedConfirm = 0;
  /** Published messages routed to at least one queue. */
  routed = 0;
  /** Unroutable and not mandatory: dropped. */
  unroutableDropped = 0;
  /** Unroutable and mandatory: returned to the publisher. */
  unroutableReturned = 0;
  /** Publisher confirms sent (basic.ack to a publisher). */
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
  deadLettered: Record<DeadLetterReason, number> = {
    rejected: 0,
    expired: 0,
    maxlen: 0,
    delivery_limit: 0,
  };
  connectionsOpened = 0;
  connectionsClosed = 0;
  channelsOpened = 0;
  channelsClosed = 0;
  queuesDeclared = 0;
  queuesCreated = 0;
  queuesDeleted = 0;
}

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
