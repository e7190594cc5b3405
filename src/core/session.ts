import { PublisherConfirms } from './confirms.js';
import { Consumer, type ConsumeOptions } from './consumer.js';
import type { ClientConnection } from './connection.js';
import { DeadlineTimer } from './deadline-timer.js';
import { REPLY_TO } from './direct-reply.js';
import type { Delivery, QueueView } from './delivery.js';
import {
  AccessRefusedError,
  NotAllowedError,
  NotImplementedError,
  PreconditionFailedError,
} from './errors.js';
import type { Exchange, ExchangeOptions } from './exchange.js';
import type { Message } from './message.js';
import type { Queue, QueueOptions } from './queue.js';
import type { QueueEntry } from './queue-entry.js';
import { redrive, type RedriveOptions, type RedriveResult } from './redrive.js';
import { Routed } from './routing.js';
import { Transaction, type SettleFn } from './transaction.js';
import { UnackedDeliveries } from './unacked.js';
import { steadyNow } from '../util/steady-clock.js';
import { serverQueueName, type VirtualHost } from './vhost.js';

/** What a protocol gives a session so the core can push to it. */
export interface SessionHandler {
  /**
   * Send one delivery. Return false when the transport is full: the consumer pauses until
   * `consumer.resume()`.
   */
  deliver(consumer: Consumer, delivery: Delivery, tag: number): boolean;
  /** The broker ended a consumer (its queue was deleted). */
  consumerCancelled(consumer: Consumer): void;
  /**
   * Publisher confirms (after `enableConfirms`): every publish numbered up to `upto` (1, 2, 3 …
   * in publish order) is safe. Called at most once per store sync.
   */
  confirmed?(upto: number): void;
  /**
   * The store failed: publishes after the last confirmed one may or may not be on disk, so
   * they are neither confirmed nor refused. Called once.
   */
  confirmsFailed?(err: Error): void;
  /**
   * Publisher confirms: publish number `seq` was not enqueued (AMQP basic.nack). Told at
   * once; a later `confirmed(upto)` covering it only confirms the others.
   */
  refused?(seq: number, err: Error): void;
  /**
   * A delivery stayed unacknowledged past its queue's consumer timeout. AMQP closes the
   * channel (406, as RabbitMQ), which requeues it; without this the session requeues it.
   */
  deliveryTimedOut?(delivery: Delivery, timeoutMs: number): void;
  /**
   * A mandatory publish reached no queue where the protocol could not say so at publish time:
   * a delayed exchange's message when it became due, or a transaction's publish at commit
   * (AMQP basic.return 312 NO_ROUTE, as RabbitMQ). Only while the session is open.
   */
  returned?(message: Message): void;
}

export interface SessionOptions {
  /**
   * Deliveries not settled within this many ms go back to their queue (a visibility timeout,
   * as SQS): for sessions that outlive a connection, such as an HTTP API's. 0: never.
   */
  leaseMs?: number;
}

/**
 * The door into the core: every client operation of a protocol session (an AMQP channel, a
 * STOMP connection, an HTTP lease holder) enters here, so permission checks, counters and
 * transactions have one place to sit. A session owns unacked deliveries; their tags are per
 * session and increase by one per delivery, so `unacked` (kept in tag order: unacked.ts) gives
 * a multiple ack its prefix.
 */
export class Session {
  readonly connection: ClientConnection;
  readonly vhost: VirtualHost;
  handler: SessionHandler;
  readonly unacked = new UnackedDeliveries();
  readonly consumers = new Map<string, Consumer>();
  private nextTag = 1;
  private consumerCounter = 0;
  /** The direct reply-to consumer (consume of amq.rabbitmq.reply-to), at most one. */
  private replyConsumer: Consumer | undefined;
  /** Channel-wide unacked limit (AMQP qos global=true), 0 for none. */
  prefetch = 0;
  /** Limit given to consumers created from now on (AMQP qos global=false). */
  consumerPrefetch = 0;
  flowActive = true;
  closed = false;
  /** The protocol's number for this session (an AMQP channel number), for listings. */
  number = 0;
  /** This session's publish, reused: routing allocates nothing per message. */
  private readonly routed = new Routed();
  /** Set by `enableConfirms` (AMQP confirm.select). */
  private confirming: PublisherConfirms | undefined;
  // ---- transactions (src/core/transaction.ts) ----
  /** Set by `selectTx`: the session is transactional for good. */
  private tx: Transaction | undefined;
  // ---- leases ----
  private readonly leaseMs: number;
  private leaseTimer: DeadlineTimer | undefined;
  /** Consumer timeouts: armed for the earliest unacked delivery's `timeoutAt`. */
  private timeoutTimer: DeadlineTimer | undefined;

  constructor(
    connection: ClientConnection,
    vhost: VirtualHost,
    handler: SessionHandler,
    options: SessionOptions = {},
  ) {
    this.connection = connection;
    this.vhost = vhost;
    this.handler = handler;
    this.leaseMs = options.leaseMs ?? 0;
  }

  get unackedCount(): number {
    return this.unacked.size;
  }

  // ---- declarations -------------------------------------------------------------------

  // Permissions follow RabbitMQ's access-control table: see docs/security.md.

  declareQueue(name: string, options: QueueOptions, passive = false): QueueView {
    // Direct reply-to names are probed, never created (as RabbitMQ).
    if (name.startsWith(REPLY_TO)) return this.vhost.replies.probe(name);
    if (passive) return this.vhost.declareQueue(name, options, this.connection, true);
    const access = this.connection.access;
    const serverName = name === '' ? serverQueueName() : undefined;
    const qname = serverName ?? name;
    access.check('configure', 'queue', qname);
    const dlx = nameArgument(options.arguments?.['x-dead-letter-exchange']);
    if (dlx !== undefined) {
      access.check('write', 'exchange', dlx);
      access.check('read', 'queue', qname);
    }
    return this.vhost.declareQueue(name, options, this.connection, false, serverName);
  }

  deleteQueue(name: string, options: { ifUnused?: boolean; ifEmpty?: boolean } = {}): number {
    this.connection.access.check('configure', 'queue', name);
    return this.vhost.deleteQueue(name, options, this.connection);
  }

  purgeQueue(name: string): number {
    this.connection.access.check('read', 'queue', name);
    return this.vhost.purgeQueue(name, this.connection);
  }

  /** A queue as this session may see it (exclusivity enforced). */
  queue(name: string): QueueView {
    return this.vhost.getQueue(name, this.connection);
  }

  declareExchange(name: string, type: string, options: ExchangeOptions, passive = false): Exchange {
    if (!passive) {
      const access = this.connection.access;
      access.check('configure', 'exchange', name);
      const ae = nameArgument(options.arguments?.['alternate-exchange']);
      if (ae !== undefined) {
        access.check('write', 'exchange', ae);
        access.check('read', 'exchange', name);
      }
    }
    return this.vhost.declareExchange(name, type, options, passive);
  }

  deleteExchange(name: string, ifUnused = false): void {
    this.connection.access.check('configure', 'exchange', name);
    this.vhost.deleteExchange(name, ifUnused);
  }

  /** Binding needs write on the destination and read on the source (RabbitMQ's table). */
  private checkBind(source: string, destination: string, type: 'queue' | 'exchange'): void {
    const access = this.connection.access;
    access.check('write', type, destination);
    access.check('read', 'exchange', source);
  }

  bind(
    source: string,
    destination: string,
    destinationType: 'queue' | 'exchange',
    routingKey: string,
    args: Record<string, unknown> = {},
  ): void {
    this.checkBind(source, destination, destinationType);
    this.vhost.bind(source, destination, destinationType, routingKey, args, this.connection);
  }

  unbind(
    source: string,
    destination: string,
    destinationType: 'queue' | 'exchange',
    routingKey: string,
    args: Record<string, unknown> = {},
  ): void {
    this.checkBind(source, destination, destinationType);
    this.vhost.unbind(source, destination, destinationType, routingKey, args, this.connection);
  }

  /**
   * Move ready messages of a dead-letter queue back to the queue each last died in (x-death),
   * or to `options.to`, each move one atomic store commit (src/core/redrive.ts). Resolves with
   * the counts once the moves are durable.
   */
  redrive(queueName: string, options: RedriveOptions = {}): Promise<RedriveResult> {
    // Taking messages out reads the queue; putting them into `to` writes it.
    this.connection.access.check('read', 'queue', queueName);
    if (options.to !== undefined) this.connection.access.check('write', 'queue', options.to);
    return redrive(this, queueName, options);
  }

  // ---- publishing ---------------------------------------------------------------------

  /** Number the publishes from now on and confirm them through the handler. */
  enableConfirms(): void {
    if (this.tx !== undefined)
      throw new PreconditionFailedError('cannot switch from tx to confirm mode');
    this.confirming ??= new PublisherConfirms(this);
  }

  get confirms(): boolean {
    return this.confirming !== undefined;
  }

  /**
   * Publish through an exchange. The result (valid until this session's next publish) says
   * which queues took it; with confirms on, the publish is numbered and confirmed once durable.
   * A store failure is an outcome, not an exception, when confirms are on (the handler hears
   * of it); without confirms the publisher has no other way to learn, so it is thrown.
   * `mandatory`: a delayed exchange that cannot route it when due tells `handler.returned`.
   */
  publish(exchange: string, routingKey: string, message: Message, mandatory = false): Routed {
    const r = this.routed;
    this.connection.access.check('write', 'exchange', exchange);
    // Routing throws for a missing or internal exchange: such a publish is not counted.
    this.vhost.route(exchange, routingKey, message, r);
    if (this.vhost.tracing) this.vhost.tracer.published(this, r, mandatory);
    const stats = this.vhost.stats;
    stats.received++;
    const confirming = this.confirming;
    if (confirming !== undefined) stats.receivedConfirm++;
    if (r.queues.length !== 0 || r.delays.length !== 0) stats.routed++;
    else if (mandatory) stats.unroutableReturned++;
    else stats.unroutableDropped++;
    if (mandatory) r.returnTo = this;
    if (this.tx !== undefined) {
      // Routed now, applied at commit: the result reports nothing yet (no queues).
      this.tx.holdPublish(r, mandatory);
      r.release();
      return r;
    }
    this.vhost.apply(r);
    // The result reports where it went; it must not keep the message (and its body) alive.
    r.message = undefined;
    if (r.congested !== undefined) this.connection.throttle(r.congested);
    if (confirming !== undefined) confirming.published(r);
    else if (r.failed !== undefined) throw r.failed;
    return r;
  }

  // ---- consuming ----------------------------------------------------------------------

  consume(queueName: string, options: ConsumeOptions = {}): Consumer {
    const tag = this.consumerTag(options.tag);
    if (queueName === REPLY_TO) return this.consumeReplies(tag, options);
    this.connection.access.check('read', 'queue', queueName);
    const queue = this.vhost.getQueue(queueName, this.connection);
    if (queue.consumers.some((c) => c.exclusive))
      throw new AccessRefusedError(
        `queue '${queue.name}' in vhost '${this.vhost.name}' has an exclusive consumer`,
      );
    if (options.exclusive && queue.consumers.length !== 0)
      throw new AccessRefusedError(
        `queue '${queue.name}' in vhost '${this.vhost.name}' already has consumers, so an exclusive consumer cannot be added`,
      );
    refuseConsumerArguments(options.arguments, queue.name);
    const consumer = new Consumer(this, queue, tag, options);
    this.consumers.set(tag, consumer);
    queue.addConsumer(consumer);
    return consumer;
  }

  private consumerTag(given: string | undefined): string {
    if (given === undefined || given === '')
      return `amq.ctag-${this.connection.id}.${++this.consumerCounter}`;
    if (this.consumers.has(given))
      throw new NotAllowedError(`attempt to reuse consumer tag '${given}' on the same channel`);
    return given;
  }

  /**
   * Direct reply-to: this session's reply endpoint and its no-ack consumer. Replies published
   * to `replyAddress()` come to it until it is cancelled or the session closes.
   */
  private consumeReplies(tag: string, options: ConsumeOptions): Consumer {
    // RabbitMQ's texts: clients match them.
    if (options.noAck !== true)
      throw new PreconditionFailedError('reply consumer cannot acknowledge');
    if (this.replyConsumer !== undefined)
      throw new PreconditionFailedError('reply consumer already set');
    const endpoint = this.vhost.replies.open();
    const consumer = new Consumer(this, endpoint, tag, { ...options, exclusive: false });
    this.replyConsumer = consumer;
    this.consumers.set(tag, consumer);
    endpoint.addConsumer(consumer);
    return consumer;
  }

  /**
   * The address a request's `reply-to: amq.rabbitmq.reply-to` becomes on this session (the
   * protocol rewrites the property). Without a reply consumer: 406, as RabbitMQ.
   */
  replyAddress(): string {
    if (this.replyConsumer === undefined)
      throw new PreconditionFailedError('fast reply consumer does not exist');
    return this.replyConsumer.queue.name;
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
    if (consumer === this.replyConsumer) {
      // Its address dies with it: later replies to it are unroutable (a new consume gets a
      // new address, as RabbitMQ's).
      this.replyConsumer = undefined;
      consumer.queue.removeConsumer(consumer);
      this.vhost.replies.close(consumer.queue);
      return;
    }
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

  /** Pull one message (AMQP basic.get); undefined when the queue has none ready. */
  get(queueName: string, noAck: boolean): Delivery | undefined {
    this.connection.access.check('read', 'queue', queueName);
    const queue = this.vhost.getQueue(queueName, this.connection);
    const d = queue.get(this, noAck);
    if (d === undefined) queue.countGetEmpty();
    return d;
  }

  /**
   * basic.get that never answers "empty" while messages are ready but still being read back
   * from the store (RabbitMQ never does): the delivery now, undefined when the queue has none
   * ready, or a promise of one of those once the read has landed.
   */
  getOrWait(
    queueName: string,
    noAck: boolean,
  ): Delivery | undefined | Promise<Delivery | undefined> {
    this.connection.access.check('read', 'queue', queueName);
    return this.getFrom(this.vhost.getQueue(queueName, this.connection), noAck);
  }

  private getFrom(
    queue: Queue,
    noAck: boolean,
  ): Delivery | undefined | Promise<Delivery | undefined> {
    const d = queue.get(this, noAck);
    if (d !== undefined) return d;
    const later = queue.whenReady();
    if (later === undefined) {
      queue.countGetEmpty();
      return undefined;
    }
    // Closed meanwhile: take nothing (no one to give it to). Deleted meanwhile: get-empty,
    // as RabbitMQ answers, not an error for the getter.
    return later.then(() => {
      if (this.closed) return undefined;
      if (!queue.deleted) return this.getFrom(queue, noAck);
      queue.countGetEmpty();
      return undefined;
    });
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
    if (this.leaseMs !== 0) {
      entry.deadline = Date.now() + this.leaseMs;
      (this.leaseTimer ??= new DeadlineTimer(this.expireLeases)).wakeAt(entry.deadline);
    }
    if (entry.timeoutAt !== 0)
      (this.timeoutTimer ??= new DeadlineTimer(this.checkTimeouts, steadyNow)).wakeAt(
        entry.timeoutAt,
      );
    this.unacked.add(tag, entry);
    return tag;
  }

  // ---- settling -----------------------------------------------------------------------

  ack(tag: number, multiple: boolean): void {
    this.settle(tag, multiple, settleAck);
  }

  /** nack/reject: requeue to the original position, or drop (dead-letter, with a DLX). */
  nack(tag: number, multiple: boolean, requeue: boolean): void {
    this.settle(tag, multiple, requeue ? settleNackRequeue : settleReject);
  }

  /**
   * Cumulative ack of one consumer's deliveries (STOMP `ack:client`): every unacked delivery
   * of `consumerTag` with a tag up to `tag`; other consumers' deliveries stay.
   */
  ackConsumer(consumerTag: string, tag: number): number {
    const entry = this.unacked.get(tag);
    const consumer = this.consumers.get(consumerTag);
    if (entry === undefined || consumer === undefined || entry.consumer !== consumer)
      throw unknownTag(tag);
    const wasBlocked = this.blocked();
    let n = 0;
    for (const e of this.unacked.values()) {
      if (e.tag > tag) break;
      // By object: an earlier consumer under the same tag keeps its deliveries.
      if (e.consumer !== consumer) continue;
      this.unacked.take(e.tag);
      this.finish(e, settleAck);
      n++;
    }
    this.afterSettle(wasBlocked);
    return n;
  }

  private blocked(): boolean {
    // Settles held by a transaction count until it commits (as RabbitMQ's limiter).
    const held = this.tx === undefined ? 0 : this.tx.heldSettles;
    return this.prefetch !== 0 && this.unacked.size + held >= this.prefetch;
  }

  private settle(tag: number, multiple: boolean, fn: (e: QueueEntry) => void): void {
    const wasBlocked = this.blocked();
    if (multiple) {
      if (tag !== 0 && !this.unacked.has(tag)) throw unknownTag(tag);
      const upto = tag === 0 ? Infinity : tag;
      let entry;
      while ((entry = this.unacked.takeFirst(upto)) !== undefined) this.finish(entry, fn);
    } else {
      const entry = this.unacked.take(tag);
      if (entry === undefined) throw unknownTag(tag);
      this.finish(entry, fn);
    }
    this.afterSettle(wasBlocked);
  }

  /** Settle a delivery taken out of `unacked`, or hold it for the transaction's commit. */
  private finish(entry: QueueEntry, fn: SettleFn): void {
    if (this.tx !== undefined) this.tx.holdSettle(entry, fn);
    else {
      this.release(entry);
      fn(entry);
    }
  }

  // ---- transactions -------------------------------------------------------------------

  /** Publishes numbered under confirms and not confirmed yet. */
  get unconfirmedCount(): number {
    return this.confirming?.unconfirmed ?? 0;
  }

  get transactional(): boolean {
    return this.tx !== undefined;
  }

  /** AMQP tx.select: from now on publishes and settles wait for `commitTx`. */
  selectTx(): void {
    if (this.confirming !== undefined)
      throw new PreconditionFailedError('cannot switch from confirm to tx mode');
    this.tx ??= new Transaction(this.vhost);
  }

  /**
   * AMQP tx.commit: everything published and settled since the last commit or rollback, as
   * one atomic store commit; `done` once it is durable (or with why not).
   */
  commitTx(done: (err: Error | undefined) => void): void {
    const tx = this.requireTx();
    const wasBlocked = this.blocked();
    const out = tx.commit(this.releaseHeld, this.tellUnroutable);
    if (out.congested !== undefined) this.connection.throttle(out.congested);
    this.afterSettle(wasBlocked);
    if (out.failed !== undefined) return done(out.failed);
    this.vhost.broker.afterSync(done);
  }

  /** AMQP tx.rollback: drop held publishes; held settles' deliveries are unacked again. */
  rollbackTx(): void {
    this.restoreHeld(this.requireTx().rollback());
  }

  private requireTx(): Transaction {
    if (this.tx === undefined) throw new PreconditionFailedError('channel is not transactional');
    return this.tx;
  }

  private readonly releaseHeld = (e: QueueEntry): void => this.release(e);
  private readonly tellUnroutable = (m: Message): void => this.handler.returned?.(m);

  /** Put rolled-back settles back among the unacked deliveries, in tag order. */
  private restoreHeld(held: QueueEntry[]): void {
    if (held.length === 0) return;
    const all = [...this.unacked.values(), ...held].sort((a, b) => a.tag - b.tag);
    this.unacked.clear();
    for (const e of all) this.unacked.add(e.tag, e);
    // Their deadlines may have passed unseen while they were held.
    for (const e of held) {
      if (e.deadline !== 0) this.leaseTimer?.wakeAt(e.deadline);
      if (e.timeoutAt !== 0) this.timeoutTimer?.wakeAt(e.timeoutAt);
    }
  }

  /** A channel-wide limit may have held back consumers of other queues too. */
  private afterSettle(wasBlocked: boolean): void {
    if (wasBlocked) for (const c of this.consumers.values()) c.queue.scheduleDrain();
  }

  private release(entry: QueueEntry): void {
    entry.deadline = 0;
    entry.timeoutAt = 0;
    const c = entry.consumer;
    if (c !== undefined) {
      c.unacked--;
      if (!c.cancelled && c.unacked === c.prefetch - 1) c.queue.scheduleDrain();
    }
  }

  /** Push a lease's deadline out (SQS ChangeMessageVisibility): `ms` from now. */
  extendLease(tag: number, ms: number): void {
    const entry = this.unacked.get(tag);
    if (entry === undefined) throw unknownTag(tag);
    if (this.leaseMs === 0) throw new PreconditionFailedError('this session has no leases');
    entry.deadline = Date.now() + ms;
    this.leaseTimer!.wakeAt(entry.deadline);
  }

  /** Deliveries whose lease ran out go back to their queues, as if nacked with requeue. */
  private readonly expireLeases = (now: number): void => {
    const wasBlocked = this.blocked();
    let next = Infinity;
    for (const e of this.unacked.values()) {
      if (e.deadline <= now) {
        this.unacked.take(e.tag);
        this.release(e);
        settleRequeue(e);
      } else if (e.deadline < next) next = e.deadline;
    }
    if (next !== Infinity) this.leaseTimer!.wakeAt(next);
    this.afterSettle(wasBlocked);
  };

  /**
   * Consumer timeout: the first delivery found past its queue's timeout ends the session's
   * channel through the handler (AMQP: 406 PRECONDITION_FAILED, as RabbitMQ), which requeues
   * everything it holds, each counted as a failed delivery.
   */
  private readonly checkTimeouts = (now: number): void => {
    if (this.closed) return;
    let next = Infinity;
    for (const e of this.unacked.values()) {
      const t = e.tag;
      // A copy is walked: skip what the handler settled meanwhile.
      if (e.timeoutAt === 0 || !this.unacked.has(t)) continue;
      if (e.timeoutAt <= now) {
        const timeout = e.queue.consumerTimeout;
        if (this.handler.deliveryTimedOut !== undefined) {
          this.handler.deliveryTimedOut(e, timeout);
          if (this.closed || !this.unacked.has(t)) return;
        }
        // Not closed by the handler: the delivery alone goes back.
        this.unacked.take(t);
        const wasBlocked = this.blocked();
        this.release(e);
        settleRequeue(e);
        this.afterSettle(wasBlocked);
      } else if (e.timeoutAt < next) next = e.timeoutAt;
    }
    if (next !== Infinity) this.timeoutTimer!.wakeAt(next);
  };

  /** basic.recover: requeue every unacked delivery. */
  recover(): void {
    // Requeued in tag order while all still count as unacked, then forgotten at once.
    for (const entry of this.unacked.values()) {
      this.release(entry);
      settleRequeue(entry);
    }
    this.unacked.clear();
  }

  /**
   * Unacked limits: `global` sets the session-wide one (AMQP qos global=true), else the one
   * consumers created from now on get. 0: unlimited.
   */
  qos(count: number, global: boolean): void {
    if (global) this.prefetch = count;
    else this.consumerPrefetch = count;
    // A raised limit lets held-back consumers go on.
    for (const c of this.consumers.values()) c.queue.scheduleDrain();
  }

  setFlow(active: boolean): void {
    this.flowActive = active;
    if (active) for (const c of this.consumers.values()) c.queue.scheduleDrain();
  }

  /** End the session: cancel its consumers and requeue what it holds. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // An open transaction is rolled back: its held settles are requeued with the rest.
    if (this.tx !== undefined) this.restoreHeld(this.tx.rollback());
    for (const c of [...this.consumers.values()]) this.detach(c);
    this.recover();
    this.leaseTimer?.stop();
    this.timeoutTimer?.stop();
    this.routed.release();
    this.connection.sessions.delete(this);
    if (this.connection.counted) this.vhost.stats.channelsClosed++;
  }
}

function settleAck(entry: QueueEntry): void {
  const q = entry.queue;
  q.countAck();
  q.settle(entry, 'acked');
}

function settleReject(entry: QueueEntry): void {
  entry.queue.settle(entry, 'rejected');
}

function settleRequeue(entry: QueueEntry): void {
  entry.queue.requeue(entry);
}

function settleNackRequeue(entry: QueueEntry): void {
  entry.queue.requeue(entry, true);
}

/**
 * Consumer arguments RabbitMQ acts on that Baton does not yet: refused (540) rather than
 * ignored. x-priority 0 is every consumer's priority, so it changes nothing and is accepted.
 */
function refuseConsumerArguments(args: Record<string, unknown> | undefined, queue: string): void {
  if (args === undefined) return;
  const priority = args['x-priority'];
  const refused =
    priority !== undefined && Number(priority) !== 0
      ? 'x-priority (consumer priorities)'
      : args['x-stream-offset'] !== undefined
        ? 'x-stream-offset (streams)'
        : undefined;
  if (refused !== undefined)
    throw new NotImplementedError(
      `consumer argument ${refused} on queue '${queue}' is not implemented`,
      'channel',
    );
}

function unknownTag(tag: number): PreconditionFailedError {
  return new PreconditionFailedError(`unknown delivery tag ${tag}`);
}

/** A name argument as the queue and exchange code read it: a string or AMQP byte array. */
function nameArgument(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  return Buffer.isBuffer(v) ? v.toString() : undefined;
}
