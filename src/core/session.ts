import { Consumer, type ConsumeOptions } from './consumer.js';
import type { ClientConnection } from './connection.js';
import { AccessRefusedError, NotAllowedError, PreconditionFailedError } from './errors.js';
import type { Message } from './message.js';
import type { QueueEntry } from './queue-entry.js';
import type { VirtualHost } from './vhost.js';

/** What a protocol gives a session so the core can push to it. */
export interface SessionHandler {
  /**
   * Send one delivery. `tag` is 0 for no-ack consumers. Return false when the transport is
   * full: the consumer pauses until `consumer.resume()`.
   */
  deliver(consumer: Consumer, entry: QueueEntry, tag: number): boolean;
  /** The broker ended a consumer (its queue was deleted). */
  consumerCancelled(consumer: Consumer): void;
}

/**
 * A unit of work that owns unacked deliveries: an AMQP channel, a STOMP connection, an HTTP
 * lease. Delivery tags are per session and increase by one per delivery, so `unacked` (a Map,
 * iterated in insertion order) is also in tag order and a multiple ack takes a prefix.
 */
export class Session {
  readonly connection: ClientConnection;
  readonly vhost: VirtualHost;
  handler: SessionHandler;
  readonly unacked = new Map<number, QueueEntry>();
  readonly consumers = new Map<string, Consumer>();
  private nextTag = 1;
  private consumerCounter = 0;
  /** Channel-wide unacked limit (AMQP qos global=true), 0 for none. */
  prefetch = 0;
  /** Limit given to consumers created from now on (AMQP qos global=false). */
  consumerPrefetch = 0;
  flowActive = true;
  closed = false;

  constructor(connection: ClientConnection, vhost: VirtualHost, handler: SessionHandler) {
    this.connection = connection;
    this.vhost = vhost;
    this.handler = handler;
  }

  get unackedCount(): number {
    return this.unacked.size;
  }

  /** Publish through an exchange; returns how many queues took the message. */
  publish(exchange: string, routingKey: string, message: Message): number {
    const n = this.vhost.publish(exchange, routingKey, message);
    const congested = this.vhost.congested;
    if (congested !== undefined) this.connection.throttle(congested);
    return n;
  }

  consume(queueName: string, options: ConsumeOptions = {}): Consumer {
    const queue = this.vhost.getQueue(queueName, this.connection);
    let tag = options.tag ?? '';
    if (tag === '') tag = `amq.ctag-${this.connection.id}.${++this.consumerCounter}`;
    else if (this.consumers.has(tag))
      throw new NotAllowedError(`attempt to reuse consumer tag '${tag}' on the same channel`);
    if (queue.consumers.some((c) => c.exclusive))
      throw new AccessRefusedError(
        `queue '${queue.name}' in vhost '${this.vhost.name}' has an exclusive consumer`,
      );
    if (options.exclusive && queue.consumers.length !== 0)
      throw new AccessRefusedError(
        `queue '${queue.name}' in vhost '${this.vhost.name}' already has consumers, so an exclusive consumer cannot be added`,
      );
    const consumer = new Consumer(this, queue, tag, options);
    this.consumers.set(tag, consumer);
    queue.addConsumer(consumer);
    return consumer;
  }

  /** Stop a consumer. Its unacked deliveries stay with the session (AMQP semantics). */
  cancel(tag: string): boolean {
    const consumer = this.consumers.get(tag);
    if (consumer === undefined) return false;
    this.detach(consumer);
    return true;
  }

  private detach(consumer: Consumer): void {
    consumer.cancelled = true;
    this.consumers.delete(consumer.tag);
    if (consumer.queue.removeConsumer(consumer) && !consumer.queue.deleted) {
      this.vhost.deleteQueueNow(consumer.queue);
    }
  }

  /** The queue was deleted under the consumer. */
  cancelledByBroker(consumer: Consumer): void {
    consumer.cancelled = true;
    this.consumers.delete(consumer.tag);
    this.handler.consumerCancelled(consumer);
  }

  get(queueName: string, noAck: boolean): QueueEntry | undefined {
    const queue = this.vhost.getQueue(queueName, this.connection);
    return queue.get(this, noAck);
  }

  /** A tag for a delivery nobody will ack (no-ack): numbered like the rest, never tracked. */
  nextDeliveryTag(): number {
    return this.nextTag++;
  }

  /** Record an unacked delivery and return its tag. */
  track(entry: QueueEntry, consumer: Consumer | undefined): number {
    const tag = this.nextTag++;
    entry.tag = tag;
    entry.consumer = consumer;
    entry.session = this;
    if (consumer !== undefined) consumer.unacked++;
    this.unacked.set(tag, entry);
    return tag;
  }

  ack(tag: number, multiple: boolean): void {
    this.settle(tag, multiple, settleAck);
  }

  /** nack/reject: requeue to the original position, or drop. */
  nack(tag: number, multiple: boolean, requeue: boolean): void {
    this.settle(tag, multiple, requeue ? settleRequeue : settleReject);
  }

  private settle(tag: number, multiple: boolean, fn: (e: QueueEntry) => void): void {
    const wasBlocked = this.prefetch !== 0 && this.unacked.size >= this.prefetch;
    if (multiple) {
      if (tag !== 0 && !this.unacked.has(tag)) throw unknownTag(tag);
      for (const [t, entry] of this.unacked) {
        if (tag !== 0 && t > tag) break;
        this.unacked.delete(t);
        this.release(entry);
        fn(entry);
      }
    } else {
      const entry = this.unacked.get(tag);
      if (entry === undefined) throw unknownTag(tag);
      this.unacked.delete(tag);
      this.release(entry);
      fn(entry);
    }
    // A channel-wide limit may have held back consumers of other queues too.
    if (wasBlocked) for (const c of this.consumers.values()) c.queue.scheduleDrain();
  }

  private release(entry: QueueEntry): void {
    const c = entry.consumer;
    if (c !== undefined) {
      c.unacked--;
      if (!c.cancelled && c.unacked === c.prefetch - 1) c.queue.scheduleDrain();
    }
  }

  /** basic.recover: requeue every unacked delivery. */
  recover(): void {
    for (const entry of this.unacked.values()) {
      this.release(entry);
      settleRequeue(entry);
    }
    this.unacked.clear();
  }

  setFlow(active: boolean): void {
    this.flowActive = active;
    if (active) for (const c of this.consumers.values()) c.queue.scheduleDrain();
  }

  /** End the session: cancel its consumers and requeue what it holds. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.consumers.values()]) this.detach(c);
    this.recover();
    this.connection.sessions.delete(this);
  }
}

function settleAck(entry: QueueEntry): void {
  entry.queue.settle(entry);
}

function settleReject(entry: QueueEntry): void {
  entry.queue.settle(entry, 'rejected');
}

function settleRequeue(entry: QueueEntry): void {
  entry.queue.requeue(entry);
}

function unknownTag(tag: number): PreconditionFailedError {
  return new PreconditionFailedError(`unknown delivery tag ${tag}`);
}
