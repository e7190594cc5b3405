import { randomBytes } from 'node:crypto';
import type { QueueView } from './delivery.js';
import { NotFoundError } from './errors.js';
import { Queue } from './queue.js';
import { parseQueuePolicy } from './queue-policy.js';
import type { VirtualHost } from './vhost.js';

/** RabbitMQ's direct reply-to pseudo-queue: consumed in no-ack mode, named in `reply-to`. */
export const REPLY_TO = 'amq.rabbitmq.reply-to';
/** A requester's address: the reply-to a publish on its session is rewritten to. */
export const REPLY_PREFIX = 'amq.rabbitmq.reply-to.';

/**
 * The reply endpoints of a vhost's sessions (direct reply-to). Each session consuming
 * `amq.rabbitmq.reply-to` gets a hidden, non-durable queue named by its address: the default
 * exchange routes a reply published to the address there, and its one no-ack consumer takes
 * it straight off. So confirms, transactions, mandatory returns and transport back-pressure
 * work as for any queue, yet the endpoint is no queue to the client: it is not listed, cannot
 * be bound, consumed from elsewhere, purged or deleted, and goes with the session (its
 * unsent replies dropped, as RabbitMQ's at-most-once replies are).
 */
export class DirectReplies {
  private readonly vhost: VirtualHost;
  private readonly byAddress = new Map<string, Queue>();

  constructor(vhost: VirtualHost) {
    this.vhost = vhost;
  }

  get size(): number {
    return this.byAddress.size;
  }

  /** A new endpoint; its address is unguessable (so only the reply-to names it). */
  open(): Queue {
    const vhost = this.vhost;
    const name = REPLY_PREFIX + randomBytes(18).toString('base64url');
    const q = new Queue(
      vhost.broker.queueContext,
      vhost.name,
      vhost.broker.allocateQueueId(),
      name,
      { durable: false },
      undefined,
      vhost.stats,
      parseQueuePolicy({}, { queue: name, vhost: vhost.name }),
    );
    this.byAddress.set(name, q);
    return q;
  }

  close(q: Queue): void {
    if (this.byAddress.get(q.name) !== q) return;
    this.byAddress.delete(q.name);
    q.destroy();
  }

  /** The endpoint a reply to `address` goes to, if its requester is still there. */
  get(address: string): Queue | undefined {
    return address.startsWith(REPLY_PREFIX) ? this.byAddress.get(address) : undefined;
  }

  /**
   * queue.declare of the pseudo-queue or of an address, passive or not (nothing can be
   * created): as RabbitMQ, 0 messages and 1 consumer while it exists, else 404.
   */
  probe(name: string): QueueView {
    if (name !== REPLY_TO && this.get(name) === undefined)
      throw new NotFoundError(`no queue '${name}' in vhost '${this.vhost.name}'`);
    return { name, vhostName: this.vhost.name, messageCount: 0, consumerCount: 1 };
  }
}
