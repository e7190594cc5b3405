import type { StoredMessage } from '../store/store.js';
import type { ClientConnection } from './connection.js';
import type { Consumer } from './consumer.js';
import { DeadlineTimer } from './deadline-timer.js';
import { DRAIN_BUDGET } from './dispatch.js';
import { QueueFlow } from './flow.js';
import { bySeq, MessageGroups, type DeliveryOrder } from './message-groups.js';
import type { Message } from './message.js';
import type { QueueContext } from './queue-context.js';
import { QueueEntry } from './queue-entry.js';
import { parseQueuePolicy, type QueuePolicy } from './queue-policy.js';
import type { DedupCache } from './dedup.js';
import { FifoReadyList } from './ready/fifo.js';
import { PriorityReadyList } from './ready/priority.js';
import { RetryDelays, retryDelay } from './retry-delays.js';
import { steadyNow } from '../util/steady-clock.js';
import type { ReadyList } from './ready/ready-list.js';
import type { Session } from './session.js';
import { Tracer } from './trace.js';
import {
  QueueStats,
  type DeadLetterCounts,
  type DeadLetterReason,
  type VhostStats,
} from './stats.js';

export interface QueueOptions {
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  arguments?: Record<string, unknown>;
}

/**
 * Why a message left a queue for good. Names of the dead-letter reasons are RabbitMQ's
 * (x-death `reason`): rejected, expired, maxlen, delivery_limit.
 */
export type RemovalReason =
  'acked' | 'rejected' | 'expired' | 'maxlen' | 'delivery_limit' | 'purged' | 'deleted';

/** The removals a policy may take over (RabbitMQ dead-letters these, never acked or deleted). */
const DEAD_LETTER_REASONS: ReadonlySet<RemovalReason> = new Set([
  'rejected',
  'expired',
  'maxlen',
  'delivery_limit',
]);

/**
 * Told when a message leaves a queue one by one (not by purge or delete). Returning true
 * takes the removal over, store write included (a dead-letter move journals the settle of the
 * source together with the enqueue on the target); false lets the queue settle it as usual.
 */
export type RemovalHook = (queue: Queue, entry: QueueEntry, reason: RemovalReason) => boolean;

/**
 * A queue with competing consumers. What is ready, and in which order it is delivered, is the
 * ready list's business (oldest first, or by priority: src/core/ready/), and publisher flow
 * control its `flow`'s (src/core/flow.ts); the queue does dispatch (round robin among
 * consumers with credit), unacked bookkeeping, the removal path and its policies: expiry
 * (checked at the head and at delivery, as RabbitMQ, so no scan), length limits, delivery
 * limits, retry delays and unused-queue expiry.
 */
export class Queue {
  readonly id: number;
  readonly name: string;
  readonly vhostName: string;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: Record<string, unknown>;
  readonly policy: QueuePolicy;
  /** The connection an exclusive queue belongs to. */
  readonly owner: ClientConnection | undefined;
  private readonly ctx: QueueContext;
  private readonly ready: ReadyList;
  /** One wake-up for everything due at a time (expiry, retry delays, timeouts). */
  readonly timer: DeadlineTimer;
  /** Policies (dead-lettering) that take over removals; undefined for none. */
  removalHook: RemovalHook | undefined = undefined;
  /** Its vhost's tracing (set by the vhost): hooks test `tracer.on`. */
  tracer: Tracer = Tracer.OFF;
  /** x-message-deduplication: the ids it holds (set by the vhost). */
  dedup: DedupCache | undefined = undefined;
  /** Publisher flow control: congestion, and the publishers it throttles. */
  readonly flow = new QueueFlow(this);
  readonly consumers: Consumer[] = [];
  private rr = 0;
  nextSeq = 1;
  unackedCount = 0;
  /** Highest seq handed to a consumer and the highest already told to the store. */
  private deliveredSeq = 0;
  private markedSeq = 0;
  drainScheduled = false;
  deleted = false;
  private hadConsumer = false;
  /** Routing walk marker: the publish generation that last reached this queue. */
  routeMark = 0;
  /** Body bytes of the ready messages (x-max-length-bytes). */
  private readyBytes = 0;
  /** Requeued entries waiting out their retry delay. */
  private readonly delayed = new RetryDelays();
  /** True once any message with an expiry reached the queue: drains check the head. */
  private expiring: boolean;
  /**
   * Messages due on arrival (TTL 0) that consumers with credit may still take in the coming
   * drain: the `graceCount` newest, from seq `graceFrom` on. What the drain leaves expires.
   */
  private graceFrom = 0;
  private graceCount = 0;
  /** Failed deliveries are counted, journaled and reported (x-delivery-count). */
  private readonly countsFailures: boolean;
  /** x-max-length or x-max-length-bytes is set. */
  private readonly lengthLimited: boolean;
  /** Publishes are refused when full (x-overflow reject-publish, reject-publish-dlx). */
  readonly rejectsWhenFull: boolean;
  /** Unacked deliveries close their channel after this long (ms), 0 for never. */
  readonly consumerTimeout: number;
  /** x-expires: called when the queue has been unused that long; the vhost deletes it. */
  onUnused: ((q: Queue) => void) | undefined = undefined;
  private lastUsed = 0;
  private unusedTimer: NodeJS.Timeout | undefined;
  /** x-single-active-consumer: only the first consumer (in subscription order) receives. */
  readonly singleActive: boolean;
  /** Messages a transaction's commit is about to put here: length limits count them. */
  pendingCount = 0;
  pendingBytes = 0;
  /** Message groups, once a grouped message was seen here. */
  private groups: MessageGroups | undefined = undefined;
  /** This queue's counters (RabbitMQ's queue message_stats). */
  readonly stats = new QueueStats();
  /** Its vhost's counters: deliveries and dead-letterings count there too. */
  readonly vhostStats: VhostStats;
  /** Where this queue's dead-letterings count (by queue type): republished, or dropped. */
  private readonly deadLettered: DeadLetterCounts;
  private readonly deadLetterDropped: DeadLetterCounts;

  constructor(
    ctx: QueueContext,
    vhostName: string,
    id: number,
    name: string,
    options: QueueOptions,
    owner: ClientConnection | undefined,
    vhostStats: VhostStats,
    policy?: QueuePolicy,
  ) {
    this.ctx = ctx;
    this.vhostStats = vhostStats;
    this.vhostName = vhostName;
    this.id = id;
    this.name = name;
    this.durable = options.durable ?? false;
    this.exclusive = options.exclusive ?? false;
    this.autoDelete = options.autoDelete ?? false;
    this.arguments = options.arguments ?? {};
    this.policy = policy ?? parseQueuePolicy(this.arguments, { queue: name, vhost: vhostName });
    this.owner = owner;
    const p = this.policy;
    // x-max-priority 0 is a single level: the FIFO itself.
    this.ready =
      p.maxPriority === undefined || p.maxPriority === 0
        ? new FifoReadyList(this, ctx)
        : new PriorityReadyList(this, ctx, p.maxPriority);
    this.timer = new DeadlineTimer(() => this.scheduleDrain());
    this.expiring = p.messageTtl !== undefined;
    this.countsFailures = p.deliveryLimit !== undefined || p.queueType === 'quorum';
    this.lengthLimited = p.maxLength !== undefined || p.maxLengthBytes !== undefined;
    this.rejectsWhenFull = this.lengthLimited && p.overflow !== 'drop-head';
    this.consumerTimeout = p.consumerTimeout ?? ctx.consumerTimeout;
    this.singleActive = p.singleActiveConsumer;
    const quorum = p.queueType === 'quorum';
    this.deadLettered = quorum ? vhostStats.quorumDeadLettered : vhostStats.deadLettered;
    this.deadLetterDropped = quorum
      ? vhostStats.quorumDeadLetterDropped
      : vhostStats.deadLetterDropped;
  }

  /**
   * Messages waiting for a consumer, as queue.declare-ok reports: ready ones and those waiting
   * out a retry delay (not unacked ones).
   */
  get messageCount(): number {
    return this.ready.length + this.delayed.length + (this.groups?.heldCount ?? 0);
  }

  /** Body bytes of the ready messages (management listings). */
  get readyBodyBytes(): number {
    return this.readyBytes;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /** Add a published message at the tail (length limits and expiry on arrival apply). */
  push(message: Message, seq: number, journaled: boolean): void {
    this.stats.publish++;
    const exp = this.expiryOf(message);
    if (exp !== 0) {
      this.expiring = true;
      if (exp <= Date.now()) {
        // TTL 0 (or less left than it took to get here): only a consumer that can take it
        // at once gets it, as in RabbitMQ; otherwise it expires on arrival.
        if (this.ready.length !== this.graceCount || this.graceCount >= this.consumerCredit()) {
          this.removeOnArrival(message, seq, journaled, 'expired');
          return;
        }
        if (this.graceCount++ === 0) this.graceFrom = seq;
      } else this.timer.wakeAt(exp);
    }
    this.ready.add(message, seq, journaled, false, 0);
    this.readyBytes += message.bodySize;
    if (this.lengthLimited) this.dropHeadOverLimit();
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  /** Add a message read back at recovery, as it was: nothing expires or drops until running. */
  restore(message: Message, seq: number, redelivered: boolean, failures: number): void {
    if (redelivered && seq > this.deliveredSeq) this.markedSeq = this.deliveredSeq = seq;
    this.ready.add(message, seq, true, redelivered, failures);
    this.readyBytes += message.bodySize;
    const exp = this.expiryOf(message);
    if (exp !== 0) {
      this.expiring = true;
      this.timer.wakeAt(exp);
    }
    // Over a limit lowered since (a redeclare cannot change it, but a restore can): trim.
    if (this.lengthLimited) this.timer.wakeAt(0);
  }

  /**
   * When the message expires in this queue (Date.now() ms), 0 for never: its own expiration
   * or the queue's x-message-ttl counted from its arrival, whichever comes first.
   */
  expiryOf(m: Message): number {
    const ttl = this.policy.messageTtl;
    if (ttl === undefined) return m.expiresAt;
    const q = m.timestamp + ttl;
    return m.expiresAt !== 0 && m.expiresAt < q ? m.expiresAt : q;
  }

  /** How many more deliveries the consumers can take now (Infinity for no limit). */
  private consumerCredit(): number {
    let n = 0;
    const consumers = this.singleActive ? this.consumers.slice(0, 1) : this.consumers;
    for (const c of consumers) {
      if (!c.hasCredit()) continue;
      if (c.noAck) return Infinity;
      const s = c.session;
      const own = c.prefetch === 0 ? Infinity : c.prefetch - c.unacked;
      const shared = s.prefetch === 0 ? Infinity : s.prefetch - s.unackedCount;
      n += Math.min(own, shared);
    }
    return n;
  }

  private inGrace(e: QueueEntry): boolean {
    return this.graceCount !== 0 && e.seq >= this.graceFrom;
  }

  /** A message that never becomes ready (expired on arrival, rejected by overflow with DLX). */
  private removeOnArrival(
    message: Message,
    seq: number,
    journaled: boolean,
    reason: RemovalReason,
  ): void {
    const entry = new QueueEntry(this, seq, message, journaled);
    this.ctx.bodies.hold(message);
    this.remove(entry, reason);
  }

  /**
   * x-overflow reject-publish(-dlx): whether this queue is full for `message` now. A refused
   * message is not enqueued here (the publisher gets basic.nack); with reject-publish-dlx it
   * is dead-lettered instead (reason maxlen), as RabbitMQ does.
   */
  refusesPublish(message: Message): boolean {
    if (!this.isFull(message)) return false;
    const p = this.policy;
    if (p.overflow === 'reject-publish-dlx' && message.body !== undefined)
      this.removeOnArrival(message, 0, false, 'maxlen');
    return true;
  }

  /** Whether one more message would go over a length limit (no side effects). */
  isFull(message: Message): boolean {
    const p = this.policy;
    const g = this.groups;
    const n = this.waitingCount() + this.pendingCount;
    const bytes = this.readyBytes + (g?.heldBytes ?? 0) + this.pendingBytes;
    return (
      (p.maxLength !== undefined && n >= p.maxLength) ||
      (p.maxLengthBytes !== undefined && bytes + message.bodySize > p.maxLengthBytes)
    );
  }

  /**
   * x-overflow drop-head: the head (the next to deliver: the oldest, or the oldest of the
   * highest priority, as RabbitMQ) makes room, dead-lettered as maxlen.
   */
  private dropHeadOverLimit(): void {
    if (this.rejectsWhenFull) return;
    const p = this.policy;
    const max = p.maxLength ?? Infinity;
    const maxBytes = p.maxLengthBytes ?? Infinity;
    let dropped = false;
    const g = this.groups;
    for (;;) {
      const n = this.waitingCount();
      const bytes = this.readyBytes + (g?.heldBytes ?? 0);
      if (n <= max && (bytes <= maxBytes || n === 0)) break;
      // The ready list first; entries set aside for busy groups when it is empty.
      const head = this.ready.length !== 0 ? this.takeReady() : g!.takeFirst();
      // Still being read back from the store: dropped once it lands (the read wakes a drain).
      if (head === undefined) break;
      this.remove(head, 'maxlen');
      dropped = true;
    }
    if (dropped && this.expiring) this.armHeadExpiry();
  }

  /** The next ready entry, if in memory, with the byte count kept. */
  private takeReady(): QueueEntry | undefined {
    const e = this.ready.take();
    if (e === undefined) return undefined;
    this.readyBytes -= e.message.bodySize;
    if (this.readyBytes < 0 || this.ready.length === 0) this.readyBytes = 0;
    return e;
  }

  /**
   * The next entry to deliver: the ready list's head, except that entries of a message group
   * that is busy (one of its messages is out, or waits to go out again) are set aside until
   * it is free. Undefined when nothing is deliverable now.
   */
  private takeNext(): QueueEntry | undefined {
    for (;;) {
      const e = this.takeReady();
      if (e === undefined) return undefined;
      const group = this.ctx.properties.groupOf(e.message);
      if (group === undefined) return e;
      const groups = (this.groups ??= new MessageGroups(this.deliveryOrder()));
      if (groups.admit(e, group)) return e;
      if (!groups.canHoldMore) return undefined;
    }
  }

  /** The order the ready list delivers in: priority first on a priority queue, then seq. */
  private deliveryOrder(): DeliveryOrder {
    const max = this.policy.maxPriority;
    if (max === undefined || max === 0) return bySeq;
    const level = (e: QueueEntry): number => Math.min(e.message.priority, max);
    return (a, b) => level(b) - level(a) || a.seq - b.seq;
  }

  /** `entry` held its group and is gone: the group's next message is ready again. */
  private releaseGroup(entry: QueueEntry): void {
    const next = this.groups!.release(entry);
    if (next === undefined) return;
    this.ready.requeue(next);
    this.readyBytes += next.message.bodySize;
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  /**
   * Whether `e`, taken from the ready list, has expired (never the one in its TTL-0 grace).
   * Seeing an expiring message starts the head checks.
   */
  private expired(e: QueueEntry, now: number): boolean {
    const exp = this.expiryOf(e.message);
    if (exp === 0) return false;
    this.expiring = true;
    return exp <= now && !this.inGrace(e);
  }

  /**
   * Due work before deliveries: retry delays that are over, expired messages at the head
   * (RabbitMQ's rule: a message expires when it reaches the head, so this is no scan), and
   * drop-head for a head that was being read back. Arms the timer for what is due next.
   */
  private housekeep(now: number): void {
    const delayed = this.delayed;
    if (delayed.length !== 0) {
      for (let e = delayed.popDue(now); e !== undefined; e = delayed.popDue(now)) {
        this.ready.requeue(e);
        this.readyBytes += e.message.bodySize;
      }
      if (delayed.length !== 0) this.timer.wakeAt(delayed.next);
    }
    if (this.expiring) {
      let budget = DRAIN_BUDGET;
      for (;;) {
        const e = this.ready.peek();
        if (e === undefined) break;
        const exp = this.expiryOf(e.message);
        if (exp === 0) break;
        if (exp > now || this.inGrace(e)) {
          if (exp > now) this.timer.wakeAt(exp);
          break;
        }
        this.takeReady();
        this.remove(e, 'expired');
        if (--budget === 0) {
          this.ctx.scheduler.addLater(this);
          break;
        }
      }
    }
    if (this.lengthLimited) this.dropHeadOverLimit();
  }

  /**
   * Messages that wait for a consumer now: the ready ones and those set aside behind their
   * busy message group (a backlog all the same, though not in the ready list).
   */
  waitingCount(): number {
    return this.ready.length + (this.groups?.heldCount ?? 0);
  }

  /** Whether the head should have expired more than `ms` ago (housekeeping is behind). */
  expiryLags(ms: number): boolean {
    // No expiring message seen: nothing can lag, and no peek on the publish path.
    if (!this.expiring || this.ctx.stopping()) return false;
    const e = this.ready.peek();
    if (e === undefined) return false;
    const exp = this.expiryOf(e.message);
    return exp !== 0 && exp + ms < Date.now() && !this.inGrace(e);
  }

  scheduleDrain(): void {
    if (!this.deleted) this.ctx.scheduler.add(this);
  }

  /** Hand ready entries to consumers with credit, round robin, up to the turn's budget. */
  drain(): void {
    this.flow.stampSettles();
    if (this.deleted) return;
    const consumers = this.consumers;
    const ready = this.ready;
    // Every delivery is checked for expiry, even before any expiring message was seen here
    // (one read back from the store may carry an expiration).
    const now = Date.now();
    if (this.expiring || this.delayed.length !== 0 || this.lengthLimited) this.housekeep(now);
    const timeoutAt = this.consumerTimeout !== 0 ? steadyNow() + this.consumerTimeout : 0;
    let budget = DRAIN_BUDGET;
    let delivered = 0;
    while (budget > 0 && ready.length !== 0) {
      // Single active consumer: the others wait their turn in subscription order.
      const n = this.singleActive && consumers.length > 1 ? 1 : consumers.length;
      let chosen: Consumer | undefined;
      for (let i = 0; i < n; i++) {
        const c = consumers[(this.rr + i) % n]!;
        if (c.hasCredit()) {
          chosen = c;
          this.rr = (this.rr + i + 1) % n;
          break;
        }
      }
      if (chosen === undefined) break;
      const entry = this.takeNext();
      if (entry === undefined) break;
      budget--;
      if (this.expired(entry, now)) {
        this.remove(entry, 'expired');
        continue;
      }
      this.deliver(chosen, entry, timeoutAt);
      delivered++;
    }
    if (delivered !== 0) this.flow.tookDeliveries(delivered);
    if (this.graceCount !== 0) {
      // The TTL-0 messages no consumer could take now expire.
      this.graceCount = 0;
      this.housekeep(now);
    }
    if (this.expiring) this.armHeadExpiry();
    this.flushDeliveredMark();
    this.flow.check();
    if (budget === 0 && ready.length !== 0) this.ctx.scheduler.addLater(this);
  }

  /**
   * After the head was taken: the new head expires on time even if nobody reads (RabbitMQ
   * arms its TTL timer for each new head); the wake-ups armed at publish may have fired.
   */
  private armHeadExpiry(): void {
    const e = this.ready.peek();
    if (e === undefined) return;
    const exp = this.expiryOf(e.message);
    if (exp !== 0) this.timer.wakeAt(exp);
  }

  private deliver(consumer: Consumer, entry: QueueEntry, timeoutAt: number): void {
    const session = consumer.session;
    entry.deliveryCount++;
    if (entry.failures !== 0 && this.countsFailures) this.addDeliveryCount(entry);
    if (!consumer.noAck) entry.timeoutAt = timeoutAt;
    if (entry.seq > this.deliveredSeq) this.deliveredSeq = entry.seq;
    // No-ack deliveries are numbered too (RabbitMQ does), but never tracked.
    const tag = consumer.noAck ? session.nextDeliveryTag() : session.track(entry, consumer);
    if (!consumer.noAck) this.unackedCount++;
    if (this.tracer.on) this.tracer.delivered(this, entry, session, consumer.tag, consumer.noAck);
    this.countDelivery(entry, consumer.noAck, false);
    if (!session.handler.deliver(consumer, entry, tag)) consumer.paused = true;
    if (consumer.noAck) this.remove(entry, 'acked');
  }

  /** basic.get: the oldest ready entry, tracked by `session` unless noAck. */
  get(session: Session, noAck: boolean): QueueEntry | undefined {
    this.touch();
    const now = Date.now();
    if (this.expiring || this.delayed.length !== 0 || this.lengthLimited) this.housekeep(now);
    let entry = this.takeNext();
    while (entry !== undefined && this.expired(entry, now)) {
      this.remove(entry, 'expired');
      entry = this.takeNext();
    }
    if (entry === undefined) return undefined;
    if (this.expiring) this.armHeadExpiry();
    entry.deliveryCount++;
    if (entry.failures !== 0 && this.countsFailures) this.addDeliveryCount(entry);
    if (this.consumerTimeout !== 0 && !noAck) entry.timeoutAt = steadyNow() + this.consumerTimeout;
    if (entry.seq > this.deliveredSeq) this.deliveredSeq = entry.seq;
    this.flushDeliveredMark();
    if (this.tracer.on) this.tracer.delivered(this, entry, session, undefined, noAck);
    this.countDelivery(entry, noAck, true);
    if (noAck) {
      entry.tag = session.nextDeliveryTag();
      this.remove(entry, 'acked');
    } else {
      session.track(entry, undefined);
      this.unackedCount++;
    }
    return entry;
  }

  /** One delivery (consume or basic.get) in this queue's and its vhost's counters. */
  private countDelivery(entry: QueueEntry, noAck: boolean, get: boolean): void {
    const q = this.stats;
    const v = this.vhostStats;
    if (get) {
      if (noAck) {
        q.getNoAck++;
        v.deliveredGetAutoAck++;
      } else {
        q.get++;
        v.deliveredGetManualAck++;
      }
    } else if (noAck) {
      q.deliverNoAck++;
      v.deliveredConsumeAutoAck++;
    } else {
      q.deliver++;
      v.deliveredConsumeManualAck++;
    }
    if (entry.redelivered) {
      q.redeliver++;
      v.redelivered++;
    }
  }

  /** basic.get found nothing ready (RabbitMQ's get_empty). */
  countGetEmpty(): void {
    this.stats.getEmpty++;
    this.vhostStats.getEmpty++;
  }

  /** A consumer acked one delivery of this queue (each message of a multiple ack). */
  countAck(): void {
    this.stats.ack++;
    this.vhostStats.acknowledged++;
  }

  /**
   * After `get` returned nothing although messages are ready (the next one is being read back
   * from the store): resolves once one is in memory, or none is left. Undefined when `get`
   * would answer now. basic.get waits for it rather than answering get-empty.
   */
  whenReady(): Promise<void> | undefined {
    return this.deleted ? undefined : this.ready.whenReady();
  }

  /** RabbitMQ 4's x-delivery-count: how many deliveries came back before this one. */
  private addDeliveryCount(entry: QueueEntry): void {
    const props = this.ctx.properties;
    const p = props.of(entry.message);
    entry.sentProperties = props.encode({
      ...p,
      headers: { ...p.headers, 'x-delivery-count': entry.failures },
    });
  }

  private flushDeliveredMark(): void {
    if (this.durable && this.deliveredSeq > this.markedSeq) {
      this.markedSeq = this.deliveredSeq;
      this.ctx.store.markDelivered(this.id, this.markedSeq);
    }
  }

  /** An unacked entry is done with: acked, or rejected / nacked without requeue. */
  settle(entry: QueueEntry, reason: RemovalReason = 'acked'): void {
    this.unackedCount--;
    this.flow.noteSettle();
    this.remove(entry, reason);
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  /** The one path by which a single message leaves the queue for good. */
  private remove(entry: QueueEntry, reason: RemovalReason): void {
    if (this.tracer.on) this.tracer.removed(this, entry.message, reason);
    if (entry.group !== undefined) this.releaseGroup(entry);
    if (reason !== 'acked' && DEAD_LETTER_REASONS.has(reason)) {
      const hook = this.removalHook;
      const dl = reason as DeadLetterReason;
      if (hook !== undefined && hook(this, entry, reason)) {
        this.stats.deadLettered++;
        this.deadLettered[dl]++;
        this.ctx.bodies.unhold(entry.message);
        return;
      }
      this.deadLetterDropped[dl]++;
    }
    this.ctx.bodies.unhold(entry.message);
    if (entry.journaled) this.ctx.store.settle(this.id, entry.seq, entry.message);
  }

  /**
   * An unacked entry came back unsettled (nack or reject with requeue, session end, lease or
   * consumer timeout): one more failed delivery. Over the delivery limit it is dead-lettered
   * (reason delivery_limit) or dropped; with retry backoff it is ready again after its
   * delay; else it goes back to its original position, marked redelivered.
   */
  requeue(entry: QueueEntry, byNack = false): void {
    this.unackedCount--;
    if (this.deleted) {
      this.remove(entry, 'deleted');
      return;
    }
    if (this.tracer.on) this.tracer.requeued(this, entry.message, byNack);
    if (!this.ctx.stopping()) entry.failures++;
    entry.tag = 0;
    entry.consumer = undefined;
    entry.session = undefined;
    entry.timeoutAt = 0;
    entry.sentProperties = undefined;
    const p = this.policy;
    if (p.deliveryLimit !== undefined && entry.failures > p.deliveryLimit) {
      this.flow.noteSettle();
      this.remove(entry, 'delivery_limit');
      if (this.consumers.length !== 0) this.scheduleDrain();
      return;
    }
    if (this.countsFailures && entry.journaled)
      this.ctx.store.recordFailures(this.id, entry.seq, entry.failures);
    entry.redelivered = true;
    if (p.retry !== undefined) {
      entry.readyAt = Date.now() + retryDelay(p.retry, entry.failures);
      this.delayed.push(entry);
      this.timer.wakeAt(this.delayed.next);
      return;
    }
    this.ready.requeue(entry);
    this.readyBytes += entry.message.bodySize;
    // Back at (or near) the head with its expiry still to come: the wake-up may have gone
    // (fired while it was unacked), and without one it would not expire until a consumer came.
    if (this.expiring) {
      const exp = this.expiryOf(entry.message);
      if (exp !== 0) this.timer.wakeAt(exp);
    }
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.hadConsumer = true;
    this.touch();
    this.scheduleDrain();
  }

  /**
   * The queue was used (declared, consumed from, read with basic.get): x-expires counts
   * from the last use while it has no consumers, as RabbitMQ does.
   */
  touch(): void {
    const expires = this.policy.expires;
    if (expires === undefined || this.deleted || this.ctx.stopping()) return;
    this.lastUsed = Date.now();
    if (this.unusedTimer === undefined && this.consumers.length === 0) this.armUnused(expires);
  }

  /** The broker is closing: nothing may expire, drop or be deleted by a timer any more. */
  stopTimers(): void {
    this.timer.stop();
    clearTimeout(this.unusedTimer);
    this.unusedTimer = undefined;
  }

  private armUnused(ms: number): void {
    this.unusedTimer = setTimeout(this.checkUnused, Math.min(ms, 2 ** 31 - 1));
    this.unusedTimer.unref();
  }

  private readonly checkUnused = (): void => {
    this.unusedTimer = undefined;
    const expires = this.policy.expires;
    if (expires === undefined || this.deleted || this.consumers.length !== 0) return;
    const left = this.lastUsed + expires - Date.now();
    if (left > 0) this.armUnused(left);
    else this.onUnused?.(this);
  };

  /** Returns true when the queue should now be auto-deleted. */
  removeConsumer(consumer: Consumer): boolean {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) {
      this.consumers.splice(i, 1);
      if (this.rr > i) this.rr--;
      if (this.rr >= this.consumers.length) this.rr = 0;
      // Single active consumer: the next one takes over now, not at the next publish.
      if (this.singleActive && i === 0 && this.consumers.length !== 0) this.scheduleDrain();
    }
    this.flow.check();
    if (this.consumers.length === 0) this.touch();
    return this.autoDelete && this.hadConsumer && this.consumers.length === 0;
  }

  /** Drop every ready message; unacked ones stay with their sessions. Returns the count. */
  purge(): number {
    const n = this.messageCount;
    if (n === 0) return 0;
    const traced = this.tracer.on ? [] : undefined;
    const { entries, stored } = this.takeAllReady(traced);
    if (traced !== undefined) this.tracer.removedAll(this, traced, 'purged');
    if (stored.length !== 0) {
      const store = this.ctx.store;
      // One purge record covers every seq up to the newest only when none of them is unacked.
      if (this.unackedCount === 0) {
        store.purge(this.id, this.nextSeq - 1, stored);
      } else {
        // Paged-out messages too: their seqs are kept beside their references.
        for (const e of entries) store.settle(this.id, e.seq, e.message);
      }
    }
    this.flow.check();
    return n;
  }

  /** Mark deleted and release every ready message. Unacked entries die with their sessions. */
  destroy(): number {
    const n = this.messageCount;
    const traced = this.tracer.on ? [] : undefined;
    const { stored } = this.takeAllReady(traced);
    if (traced !== undefined) this.tracer.removedAll(this, traced, 'deleted');
    // Unacked entries are settled one by one as their sessions let go of them.
    if (this.durable) this.ctx.store.purge(this.id, this.nextSeq - 1, stored);
    this.deleted = true;
    this.timer.stop();
    clearTimeout(this.unusedTimer);
    this.unusedTimer = undefined;
    this.flow.open();
    return n;
  }

  /**
   * Empty the ready list. Returns every journaled message with its seq (in memory or paged
   * out: a paged one as a stub with only its reference) and, for the store, their messages.
   */
  private takeAllReady(traced?: Message[]): { entries: Settleable[]; stored: StoredMessage[] } {
    const entries: Settleable[] = [];
    this.readyBytes = 0;
    this.groups?.clear((e) => {
      traced?.push(e.message);
      this.ctx.bodies.unhold(e.message);
      if (e.journaled) entries.push(e);
    });
    this.delayed.clear((e) => {
      traced?.push(e.message);
      this.ctx.bodies.unhold(e.message);
      if (e.journaled) entries.push(e);
    });
    this.ready.clear(
      (e) => {
        traced?.push(e.message);
        this.ctx.bodies.unhold(e.message);
        if (e.journaled) entries.push(e);
      },
      (seq, message) => entries.push({ seq, message }),
    );
    const stored: StoredMessage[] = entries.map((e) => e.message);
    return { entries, stored };
  }

  // ---- moving messages to another queue (redrive, src/core/redrive.ts) ------------------

  /**
   * The next ready entry, taken off the list without counting as a delivery (no delivery
   * count, no delivered mark). Undefined when none is in memory now: see `whenReady`. The
   * caller ends it with `moved` or `putBack`.
   */
  takeForMove(): QueueEntry | undefined {
    return this.takeReady();
  }

  /** A taken entry now lives elsewhere (its settle was in the mover's store commit). */
  moved(entry: QueueEntry): void {
    if (entry.group !== undefined) this.releaseGroup(entry);
    this.ctx.bodies.unhold(entry.message);
    this.flow.check();
  }

  /** A taken entry that was not moved regains its place (not marked redelivered). */
  putBack(entry: QueueEntry): void {
    if (this.deleted) {
      this.remove(entry, 'deleted');
      return;
    }
    this.ready.requeue(entry);
    this.readyBytes += entry.message.bodySize;
    if (this.expiring) this.armHeadExpiry();
    if (this.consumers.length !== 0) this.scheduleDrain();
  }
}

/** A journaled message of this queue the store must be told about. */
interface Settleable {
  seq: number;
  message: StoredMessage;
}
