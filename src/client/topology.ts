import type amqp from 'amqplib';
import {
  BatonClientError,
  ChannelClosedError,
  InvalidOptionError,
  UnroutableError,
  replyCode,
} from './errors.js';
import { isConnectionGone, type ConnectionManager } from './connection.js';

export interface DeclareQueueOptions {
  /** Survives a broker restart (default true). */
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  /** x-dead-letter-exchange ('' is the default exchange). */
  deadLetterExchange?: string;
  /** x-dead-letter-routing-key (with deadLetterExchange '': the dead-letter queue's name). */
  deadLetterRoutingKey?: string;
  /** x-delivery-limit: failed deliveries before the message is dead-lettered (or dropped). */
  deliveryLimit?: number;
  /** x-message-ttl, ms. */
  messageTtl?: number;
  /** x-max-priority. */
  maxPriority?: number;
  /** Any other queue arguments, as given (x-message-deduplication, x-queue-type…). */
  arguments?: Record<string, unknown>;
}

const QUEUE_KEYS = new Set([
  'durable',
  'exclusive',
  'autoDelete',
  'deadLetterExchange',
  'deadLetterRoutingKey',
  'deliveryLimit',
  'messageTtl',
  'maxPriority',
  'arguments',
]);

/** The exchange delayed sends go through (RabbitMQ's delayed-message exchange type). */
export const DELAY_EXCHANGE = 'baton.delayed';

function assertQueueArgs(o: DeclareQueueOptions): amqp.Options.AssertQueue {
  for (const k of Object.keys(o))
    if (!QUEUE_KEYS.has(k)) throw new InvalidOptionError(`unknown declareQueue option '${k}'`);
  const args: Record<string, unknown> = { ...o.arguments };
  if (o.deadLetterExchange !== undefined) args['x-dead-letter-exchange'] = o.deadLetterExchange;
  if (o.deadLetterRoutingKey !== undefined)
    args['x-dead-letter-routing-key'] = o.deadLetterRoutingKey;
  if (o.deliveryLimit !== undefined) args['x-delivery-limit'] = o.deliveryLimit;
  if (o.messageTtl !== undefined) args['x-message-ttl'] = o.messageTtl;
  if (o.maxPriority !== undefined) args['x-max-priority'] = o.maxPriority;
  return {
    durable: o.durable ?? true,
    exclusive: o.exclusive ?? false,
    autoDelete: o.autoDelete ?? false,
    arguments: args,
  };
}

/** An amqplib channel error as ours, keeping the broker's reply code. */
export function channelError(err: unknown): Error {
  if (!(err instanceof Error) || err instanceof BatonClientError) return err as Error;
  return new ChannelClosedError(err.message, replyCode(err), { cause: err });
}

/**
 * What this client declared (queues, and the delay exchange and its bindings it made for
 * delayed sends), re-declared in that order on every new connection. Declarations go through
 * one admin channel per connection, one at a time, so a refused one (which closes the channel)
 * cannot take a concurrent one down with it.
 */
export class Topology {
  private readonly queues = new Map<string, amqp.Options.AssertQueue>();
  private readonly delayBindings = new Set<string>();
  private admin: { model: amqp.ChannelModel; ch: Promise<amqp.Channel> } | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  private readonly conn: ConnectionManager;
  private readonly onError: (err: Error) => void;

  constructor(
    conn: ConnectionManager,
    onError: (err: Error) => void,
  ) {
    this.conn = conn;
    this.onError = onError;
  }

  async declareQueue(name: string, options: DeclareQueueOptions = {}): Promise<void> {
    const args = assertQueueArgs(options);
    await this.run((ch) => ch.assertQueue(name, args));
    this.queues.set(name, args);
  }

  isDeclared(queue: string): boolean {
    return this.queues.has(queue);
  }

  /** The delay exchange exists and routes `queue`'s name to it; 404 (no queue): UnroutableError. */
  async ensureDelay(queue: string, messageId: string): Promise<void> {
    if (this.delayBindings.has(queue)) return;
    await this.run(async (ch) => {
      await declareDelayExchange(ch);
      try {
        await ch.bindQueue(queue, DELAY_EXCHANGE, queue);
      } catch (err) {
        if (replyCode(err) === 404) throw new UnroutableError(queue, messageId, 404, 'NOT_FOUND');
        throw err;
      }
    });
    this.delayBindings.add(queue);
  }

  /** Re-declares everything on a new connection; a refusal is reported, never thrown. */
  async redeclare(model: amqp.ChannelModel): Promise<void> {
    const steps: [string, (ch: amqp.Channel) => Promise<unknown>][] = [];
    if (this.delayBindings.size) steps.push([DELAY_EXCHANGE, declareDelayExchange]);
    for (const [name, args] of this.queues)
      steps.push([`queue '${name}'`, (ch) => ch.assertQueue(name, args)]);
    for (const q of this.delayBindings)
      steps.push([`binding of '${q}'`, (ch) => ch.bindQueue(q, DELAY_EXCHANGE, q)]);
    for (const [what, step] of steps) {
      try {
        await step(await this.channel(model));
      } catch (err) {
        if (isConnectionGone(model)) return;
        this.onError(
          new ChannelClosedError(
            `re-declaring ${what} after reconnect failed: ${(err as Error).message}`,
            replyCode(err),
            { cause: err },
          ),
        );
      }
    }
  }

  /** Runs `op` on the admin channel, after the ones before it; retried once reconnected. */
  run<T>(op: (ch: amqp.Channel) => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      for (;;) {
        const model = await this.conn.ready();
        try {
          return await op(await this.channel(model));
        } catch (err) {
          // The connection went while we waited: do it again on the next one.
          if (isConnectionGone(model) && !this.conn.isClosed) continue;
          throw channelError(err);
        }
      }
    });
    this.chain = next.catch(() => {});
    return next;
  }

  private channel(model: amqp.ChannelModel): Promise<amqp.Channel> {
    if (this.admin?.model === model) return this.admin.ch;
    const ch = model.createChannel().then((c) => {
      c.on('error', () => {});
      c.on('close', () => {
        if (this.admin?.model === model) this.admin = undefined;
      });
      return c;
    });
    this.admin = { model, ch };
    ch.catch(() => {
      if (this.admin?.ch === ch) this.admin = undefined;
    });
    return ch;
  }
}

function declareDelayExchange(ch: amqp.Channel): Promise<unknown> {
  return ch.assertExchange(DELAY_EXCHANGE, 'x-delayed-message', {
    durable: true,
    arguments: { 'x-delayed-type': 'direct' },
  });
}
