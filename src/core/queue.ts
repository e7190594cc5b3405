import { RingBuffer } from '../util/ring-buffer.js';
import type { Consumer } from './consumer.js';
import { DRAIN_BUDGET } from './dispatch.js';
import type { Message } from './message.js';
import type { StoredMessage } from '../store/store.js';
import { FLOW_ACTIVE_MS, FLOW_HIGH, FLOW_LOW, FlowGate } from './flow.js';
import { PagedTail } from './paged-tail.js';
import { QueueEntry } from './queue-entry.js';
import type { ClientConnection } from './connection.js';
import type { Session } from './session.js';
import type { VirtualHost } from './vhost.js';

export interface QueueOptions {
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  arguments?: Record<string, unknown>;
}

/**
 * A FIFO of entries with competing consumers. Ready entries live in a ring buffer; entries put
 * back by nack/requeue or a closed session go to `requeued`, sorted into descending seq order
 * (lazily, before the next take) so the lowest (oldest) is popped first: a requeued message
 * gets its original place back. Sorting once per batch keeps a mass requeue O(n log n).
 */
export class Queue {
  readonly id: number;
  readonly name: string;
  readonly vhost: VirtualHost;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: Record<string, unknown>;
  /** The connection an exclusive queue belongs to. */
  readonly owner: ClientConnection | undefined;

  private readonly ready = new RingBuffer<QueueEntry>();
  private readonly requeued: QueueEntry[] = [];
  private requeuedUnsorted = false;
  /** Behind `ready`: messages paged out to the journal once the body budget is spent. */
  private readonly tail = new PagedTail();
  private waitingForWrite = false;
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

  constructor(
    vhost: VirtualHost,
    id: number,
    name: string,
    options: QueueOptions,
    owner: ClientConnection | undefined,
  ) {
    this.vhost = vhost;
    this.id = id;
    this.name = name;
    this.durable = options.durable ?? false;
    this.exclusive = options.exclusive ?? false;
    this.autoDelete = options.autoDelete ?? false;
    this.arguments = options.arguments ?? {};
    this.owner = owner;
  }

  /** Ready messages (not counting unacked ones), as queue.declare-ok reports. */
  get messageCount(): number {
    return this.ready.length + this.requeued.length + this.tail.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /**
   * Add a published (or recovered) message at the tail. Once the broker's body budget is
   * spent, a journaled message is kept only as its journal position (paged out) and any other
   * is written to the transient spill; after that, everything goes behind them until the paged
   * tail has been read back in.
   */
  push(message: Message, seq: number, journaled: boolean, redelivered = false): void {
    if (redelivered && seq > this.deliveredSeq) this.markedSeq = this.deliveredSeq = seq;
    const broker = this.vhost.broker;
    if (this.tail.length === 0 && message.body !== undefined && !broker.overBudget()) {
      const entry = new QueueEntry(this, seq, message, journaled);
      if (redelivered) {
        entry.redelivered = true;
        entry.deliveryCount = 1;
      }
      this.hold(message);
      this.ready.push(entry);
    } else this.pageOut(message, seq, journaled, redelivered);
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  private pageOut(message: Message, seq: number, journaled: boolean, redelivered: boolean): void {
    const tail = this.tail;
    const location = message.location;
    if (journaled && location !== undefined && this.vhost.broker.store.canPage) {
      tail.pushLocation(location);
      if (redelivered) tail.redeliveredUpTo = seq;
    } else {
      tail.spill(this, message, seq, journaled, redelivered);
    }
  }

  /** Body accounting: a message's body counts once, however many entries hold it. */
  private hold(m: Message): void {
    if (m.refs++ === 0) this.vhost.broker.bodyBytes += m.bodySize;
  }

  private unhold(m: Message): void {
    if (--m.refs === 0) this.vhost.broker.bodyBytes -= m.bodySize;
  }

  /** When an ack last settled a delivery of this queue (performance.now()). */
  private lastSettleAt = 0;

  /** True when publishers should pause: a backlog builds while consumers work through it. */
  congested(): boolean {
    return (
      this.consumers.length !== 0 &&
      this.messageCount > FLOW_HIGH &&
      performance.now() - this.lastSettleAt < FLOW_ACTIVE_MS
    );
  }

  /** Release throttled publishers once the backlog is small again (or nobody consumes). */
  private checkFlow(): void {
    if (this.flow.blocked && (this.messageCount <= FLOW_LOW || this.consumers.length === 0))
      this.flow.open(this);
  }

  scheduleDrain(): void {
    if (!this.deleted) this.vhost.broker.scheduler.add(this);
  }

  /** The oldest ready entry, removed from the ready list. */
  private take(): QueueEntry | undefined {
    const r = this.requeued;
    if (r.length !== 0) {
      if (this.requeuedUnsorted) {
        r.sort(bySeqDescending);
        this.requeuedUnsorted = false;
      }
      return r.pop();
    }
    if (this.ready.length === 0 && this.tail.length !== 0) this.pageIn();
    return this.ready.shift();
  }

  private hasReady(): boolean {
    return this.requeued.length !== 0 || this.ready.length !== 0 || this.tail.length !== 0;
  }

  /** Read the next batch of the paged tail back into memory. */
  private pageIn(): void {
    const broker = this.vhost.broker;
    if (this.tail.pageIn(this, broker.store, PAGE_IN_BATCH, this.takeIn)) return;
    // The next record is still in the batch being written: try again after the sync.
    if (this.waitingForWrite) return;
    this.waitingForWrite = true;
    broker.afterSync((err) => {
      this.waitingForWrite = false;
      // A failed store never makes the record readable: retrying would spin forever.
      if (err === undefined) this.scheduleDrain();
    });
  }

  private readonly takeIn = (e: QueueEntry): void => {
    if (e.message.refs === 0) this.hold(e.message);
    this.ready.push(e);
  };

  /** Hand ready entries to consumers with credit, round robin, up to the turn's budget. */
  drain(): void {
    if (this.deleted) return;
    const consumers = this.consumers;
    let budget = DRAIN_BUDGET;
    while (budget > 0 && this.hasReady()) {
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
      const entry = this.take();
      if (entry === undefined) break;
      this.deliver(chosen, entry);
      budget--;
    }
    this.flushDeliveredMark();
    this.checkFlow();
    if (budget === 0 && this.hasReady()) this.vhost.broker.scheduler.addLater(this);
  }

  private deliver(consumer: Consumer, entry: QueueEntry): void {
    const session = consumer.session;
    this.loadBody(entry);
    entry.deliveryCount++;
    if (entry.seq > this.deliveredSeq) this.deliveredSeq = entry.seq;
    if (consumer.noAck) {
      if (!session.handler.deliver(consumer, entry, 0)) consumer.paused = true;
      this.remove(entry);
      return;
    }
    const tag = session.track(entry, consumer);
    this.unackedCount++;
    if (!session.handler.deliver(consumer, entry, tag)) consumer.paused = true;
  }

  /** basic.get: the oldest ready entry, tracked by `session` unless noAck. */
  get(session: Session, noAck: boolean): QueueEntry | undefined {
    const entry = this.take();
    if (entry === undefined) return undefined;
    this.loadBody(entry);
    entry.deliveryCount++;
    if (entry.seq > this.deliveredSeq) this.deliveredSeq = entry.seq;
    this.flushDeliveredMark();
    if (noAck) {
      this.remove(entry);
    } else {
      session.track(entry, undefined);
      this.unackedCount++;
    }
    return entry;
  }

  private loadBody(entry: QueueEntry): void {
    const m = entry.message;
    if (m.body === undefined) m.body = this.vhost.broker.journal.store.readBody(m);
  }

  private flushDeliveredMark(): void {
    if (this.durable && this.deliveredSeq > this.markedSeq) {
      this.markedSeq = this.deliveredSeq;
      this.vhost.broker.journal.markDelivered(this.id, this.markedSeq);
    }
  }

  /** An unacked entry was acked (or dropped by nack without requeue). */
  settle(entry: QueueEntry): void {
    this.unackedCount--;
    this.lastSettleAt = performance.now();
    this.remove(entry);
    if (this.consumers.length !== 0) this.scheduleDrain();
  }

  /** Forget an entry for good: release the message and tell the store. */
  private remove(entry: QueueEntry): void {
    this.unhold(entry.message);
    if (entry.journaled) this.vhost.broker.journal.settle(this.id, entry.seq, entry.message);
  }

  /** Put unacked entries back at their original positions, marked redelivered. */
  requeue(entry: QueueEntry): void {
    this.unackedCount--;
    if (this.deleted) {
      this.remove(entry);
      return;
    }
    entry.redelivered = true;
    entry.tag = 0;
    entry.consumer = undefined;
    entry.session = undefined;
    this.requeued.push(entry);
    this.requeuedUnsorted = true;
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
    const n = this.messageCount;
    if (n === 0) return 0;
    const { entries, stored } = this.takeAllReady();
    if (stored.length !== 0) {
      const journal = this.vhost.broker.journal;
      // One purge record covers every seq up to the newest only when none of them is unacked.
      if (this.unackedCount === 0) {
        journal.purge(this.id, this.nextSeq - 1, stored);
      } else {
        for (const e of entries) journal.settle(this.id, e.seq, e.message);
        this.settlePaged(stored.slice(entries.length));
      }
    }
    this.checkFlow();
    return n;
  }

  /**
   * Settle paged-out messages one by one: their seqs are in their journal records, and a
   * record still in the batch being written can only be read after the next sync.
   */
  private settlePaged(messages: StoredMessage[]): void {
    const broker = this.vhost.broker;
    const store = broker.store;
    const later: StoredMessage[] = [];
    for (const m of messages) {
      if (store.isReadable(m.location!)) {
        broker.journal.settle(this.id, store.readPaged(m.location!, this.id).seq, m);
      } else later.push(m);
    }
    if (later.length !== 0)
      broker.afterSync((err) => {
        if (err === undefined) this.settlePaged(later);
      });
  }

  /** Mark deleted and release every ready message. Unacked entries die with their sessions. */
  destroy(): number {
    const n = this.messageCount;
    const { stored } = this.takeAllReady();
    // Unacked entries are settled one by one as their sessions let go of them.
    if (this.durable) this.vhost.broker.journal.purge(this.id, this.nextSeq - 1, stored);
    this.deleted = true;
    this.flow.open(this);
    return n;
  }

  /**
   * Empty requeued, ready and the paged tail. Returns the journaled in-memory entries and,
   * for the store, every journaled message (those entries first, then paged-out positions).
   */
  private takeAllReady(): { entries: Settleable[]; stored: StoredMessage[] } {
    const entries: Settleable[] = [];
    const take = (e: QueueEntry): void => {
      this.unhold(e.message);
      if (e.journaled) entries.push(e);
    };
    for (const e of this.requeued) take(e);
    for (const e of this.ready) take(e);
    this.requeued.length = 0;
    this.ready.clear();
    const paged = this.tail.drainAll((seq, message) => entries.push({ seq, message }));
    const stored: StoredMessage[] = entries.map((e) => e.message);
    for (const m of paged) stored.push(m);
    return { entries, stored };
  }
}

/** A journaled message of this queue the store must be told about. */
interface Settleable {
  seq: number;
  message: StoredMessage;
}

const PAGE_IN_BATCH = 256;

function bySeqDescending(a: QueueEntry, b: QueueEntry): number {
  return b.seq - a.seq;
}
