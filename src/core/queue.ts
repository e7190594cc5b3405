import type { StoredMessage } from '../store/store.js';
import type { ClientConnection } from './connection.js';
import type { Consumer } from './consumer.js';
import { DeadlineTimer } from './deadline-timer.js';
import { DRAIN_BUDGET } from './dispatch.js';
import { FLOW_ACTIVE_MS, FLOW_HIGH, FLOW_LOW, FlowGate } from './flow.js';
import type { Message } from './message.js';
import type { QueueContext } from './queue-context.js';
import type { QueueEntry } from './queue-entry.js';
import { parseQueuePolicy, type QueuePolicy } from './queue-policy.js';
import { FifoReadyList } from './ready/fifo.js';
import type { ReadyList } from './ready/ready-list.js';
import type { Session } from './session.js';

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
 * ready list's business (today: oldest first); the queue does dispatch (round robin among
 * consumers with credit), unacked bookkeeping, the removal path and publisher flow control.
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
  /** Publishers throttled by this queue's backlog. */
  readonly flow = new FlowGate();
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
  /** When an ack last settled a delivery of this queue (performance.now()). */
  private lastSettleAt = 0;

  constructor(
    ctx: QueueContext,
    vhostName: string,
    id: number,
    name: string,
    options: QueueOptions,
    owner: ClientConnection | undefined,
    policy?: QueuePolicy,
  ) {
    this.ctx = ctx;
    this.vhostName = vhostName;
    this.id = id;
    this.name = name;
    this.durable = options.durable ?? false;
    this.exclusive = options.exclusive ?? false;
    this.autoDelete = options.autoDelete ?? false;
    this.arguments = options.arguments ?? {};
    this.policy = policy ?? parseQueuePolicy(this.arguments, { queue: name, vhost: vhostName });
    this.owner = owner;
    this.ready = new FifoReadyList(this, ctx);
    this.timer = new DeadlineTimer(() => this.scheduleDrain());
  }

  /** Ready messages (not counting unacked ones), as queue.declare-ok reports. */
  get messageCount(): number {
    return this.ready.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /** Add a published (or recovered) message at the tail. */
  push(message: Message, seq: number, journaled: boolean, redelivered = false): void {
    if (redelivered && seq > this.deliveredSeq) this.markedSeq = this.deliveredSeq = seq;
    this.ready.add(message, seq, journaled, redelivered);
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  /** True when publishers should pause: a backlog builds while consumers work through it. */
  congested(): boolean {
    return (
      this.consumers.length !== 0 &&
      this.ready.length > FLOW_HIGH &&
      performance.now() - this.lastSettleAt < FLOW_ACTIVE_MS
    );
  }

  /** Release throttled publishers once the backlog is small again (or nobody consumes). */
  private checkFlow(): void {
    if (this.flow.blocked && (this.ready.length <= FLOW_LOW || this.consumers.length === 0))
      this.flow.open(this);
  }

  scheduleDrain(): void {
    if (!this.deleted) this.ctx.scheduler.add(this);
  }

  /** Hand ready entries to consumers with credit, round robin, up to the turn's budget. */
  drain(): void {
    if (this.deleted) return;
    const consumers = this.consumers;
    const ready = this.ready;
    let budget = DRAIN_BUDGET;
    while (budget > 0 && ready.length !== 0) {
      const n = consumers.length;
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
      const entry = ready.take();
      if (entry === undefined) break;
      this.deliver(chosen, entry);
      budget--;
    }
    this.flushDeliveredMark();
    this.checkFlow();
    if (budget === 0 && ready.length !== 0) this.ctx.scheduler.addLater(this);
  }

  private deliver(consumer: Consumer, entry: QueueEntry): void {
    const session = consumer.session;
    entry.deliveryCount++;
    if (entry.seq > this.deliveredSeq) this.deliveredSeq = entry.seq;
    // No-ack deliveries are numbered too (RabbitMQ does), but never tracked.
    const tag = consumer.noAck ? session.nextDeliveryTag() : session.track(entry, consumer);
    if (!consumer.noAck) this.unackedCount++;
    if (!session.handler.deliver(consumer, entry, tag)) consumer.paused = true;
    if (consumer.noAck) this.remove(entry, 'acked');
  }

  /** basic.get: the oldest ready entry, tracked by `session` unless noAck. */
  get(session: Session, noAck: boolean): QueueEntry | undefined {
    const entry = this.ready.take();
    if (entry === undefined) return undefined;
    entry.deliveryCount++;
    if (entry.seq > this.deliveredSeq) this.deliveredSeq = entry.seq;
    this.flushDeliveredMark();
    if (noAck) {
      entry.tag = session.nextDeliveryTag();
      this.remove(entry, 'acked');
    } else {
      session.track(entry, undefined);
      this.unackedCount++;
    }
    return entry;
  }

  /**
   * After `get` returned nothing although messages are ready (the next one is being read back
   * from the store): resolves once one is in memory, or none is left. Undefined when `get`
   * would answer now. basic.get waits for it rather than answering get-empty.
   */
  whenReady(): Promise<void> | undefined {
    return this.deleted ? undefined : this.ready.whenReady();
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
    this.lastSettleAt = performance.now();
    this.remove(entry, reason);
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  /** The one path by which a single message leaves the queue for good. */
  private remove(entry: QueueEntry, reason: RemovalReason): void {
    const hook = this.removalHook;
    if (hook !== undefined && DEAD_LETTER_REASONS.has(reason) && hook(this, entry, reason)) {
      this.ctx.bodies.unhold(entry.message);
      return;
    }
    this.ctx.bodies.unhold(entry.message);
    if (entry.journaled) this.ctx.store.settle(this.id, entry.seq, entry.message);
  }

  /** Put an unacked entry back at its original position, marked redelivered. */
  requeue(entry: QueueEntry): void {
    this.unackedCount--;
    if (this.deleted) {
      this.remove(entry, 'deleted');
      return;
    }
    entry.redelivered = true;
    entry.tag = 0;
    entry.consumer = undefined;
    entry.session = undefined;
    this.ready.requeue(entry);
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.hadConsumer = true;
    this.scheduleDrain();
  }

  /** Returns true when the queue should now be auto-deleted. */
  removeConsumer(consumer: Consumer): boolean {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) {
      this.consumers.splice(i, 1);
      if (this.rr > i) this.rr--;
      if (this.rr >= this.consumers.length) this.rr = 0;
    }
    this.checkFlow();
    return this.autoDelete && this.hadConsumer && this.consumers.length === 0;
  }

  /** Drop every ready message; unacked ones stay with their sessions. Returns the count. */
  purge(): number {
    const n = this.ready.length;
    if (n === 0) return 0;
    const { entries, stored } = this.takeAllReady();
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
    this.checkFlow();
    return n;
  }

  /** Mark deleted and release every ready message. Unacked entries die with their sessions. */
  destroy(): number {
    const n = this.ready.length;
    const { stored } = this.takeAllReady();
    // Unacked entries are settled one by one as their sessions let go of them.
    if (this.durable) this.ctx.store.purge(this.id, this.nextSeq - 1, stored);
    this.deleted = true;
    this.timer.stop();
    this.flow.open(this);
    return n;
  }

  /**
   * Empty the ready list. Returns every journaled message with its seq (in memory or paged
   * out: a paged one as a stub with only its reference) and, for the store, their messages.
   */
  private takeAllReady(): { entries: Settleable[]; stored: StoredMessage[] } {
    const entries: Settleable[] = [];
    this.ready.clear(
      (e) => {
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
    return this.ready.take();
  }

  /** A taken entry now lives elsewhere (its settle was in the mover's store commit). */
  moved(entry: QueueEntry): void {
    this.ctx.bodies.unhold(entry.message);
    this.checkFlow();
  }

  /** A taken entry that was not moved regains its place (not marked redelivered). */
  putBack(entry: QueueEntry): void {
    if (this.deleted) {
      this.remove(entry, 'deleted');
      return;
    }
    this.ready.requeue(entry);
    if (this.consumers.length !== 0) this.scheduleDrain();
  }
}

/** A journaled message of this queue the store must be told about. */
interface Settleable {
  seq: number;
  message: StoredMessage;
}
