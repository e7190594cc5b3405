/**
 * A message's properties as the core reads and writes them, whatever protocol published it.
 * The names are the usual ones (AMQP's basic properties, which STOMP headers and SQS message
 * attributes map onto). Absent fields are undefined.
 */
export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  /** Application headers (x-death, x-delay, x-group-id, deduplication ids …). */
  headers?: Record<string, unknown>;
  /** 2: persistent, 1: transient. */
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  /** Per-message TTL in ms, as a decimal string (RabbitMQ's `expiration`). */
  expiration?: string;
  messageId?: string;
  /** Seconds since the epoch. */
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
}
