import type { SpillStream } from '../store/spill.js';
import {
  locationOnly,
  type MessageRef,
  type PagedMessage,
  type StoredMessage,
} from '../store/store.js';
import { PagedRing } from '../util/paged-ring.js';
import { RingBuffer } from '../util/ring-buffer.js';
import { Message } from './message.js';
import type { QueueContext } from './queue-context.js';
import { QueueEntry } from './queue-entry.js';
import type { Queue } from './queue.js';

/** Flags of a ring entry. */
const SPILLED = 1;
const JOURNALED = 2;
const REDELIVERED = 4;
/** The upper five bits: failed deliveries, saturating at 31 (x-delivery-limit counts them). */
const FAILURES_SHIFT = 3;
const MAX_FAILURES = 31;

function flagsOf(journaled: boolean, redelivered: boolean, failures: number): number {
  return (
    (journaled ? JOURNALED : 0) |
    (redelivered ? REDELIVERED : 0) |
    (Math.min(failures, MAX_FAILURES) << FAILURES_SHIFT)
  );
}

/** Messages one store read fetches; the next read starts once half of them are delivered. */
export const PAGE_IN_BATCH = 256;

/**
 * The paged-out tail of a queue: everything behind the in-memory ready list once the broker's
 * body budget is spent. Each message is a ring entry with its seq and flags: a journaled one
 * also keeps the store's reference (three opaque numbers) and is read back asynchronously
 * (`Store.load`) before delivery; any other (transient, non-durable queue, a store that cannot
 * page) is written to the broker's transient spill and read back in order from there.
 *
 * Read-ahead: a window of loaded entries sits in front of the ring. When it falls to half a
 * batch, the next batch is read while deliveries continue from the window; a take that finds
 * the window empty returns undefined, and the read's completion wakes the queue. Entries being
 * read stay in the ring until the read lands, so `length` never drops and nothing published
 * meanwhile can overtake them.
 */
export class PagedTail {
  private readonly ring = new PagedRing();
  private readonly window = new RingBuffer<QueueEntry>();
  private spilled: SpillStream | undefined;
  /** Entries at the ring's front being read by the store now. */
  private reading = 0;
  /** Bumped by `drainAll`: a read that lands after it is thrown away. */
  private generation = 0;
  /**
   * The store refused a read (it failed or is closing; both are for good): no more reads, or
   * a rejected read would be retried from the wake-up it causes, for ever, in microtasks.
   */
  private readFailed = false;
  /** Callers waiting for the next entry to be in memory (basic.get). */
  private waiters: (() => void)[] = [];
  private readonly queue: Queue;
  private readonly ctx: QueueContext;
  private readonly refs: MessageRef[] = [];
  /** Failure counts too large for the flags byte (≥ 31; rare), by seq. */
  private readonly bigFailures = new Map<number, number>();
  private readonly pool: { segment: number; offset: number; size: number }[] = [];

  constructor(queue: Queue, ctx: QueueContext) {
    this.queue = queue;
    this.ctx = ctx;
  }

  get length(): number {
    return this.ring.length + this.window.length;
  }

  /** A journaled message, kept only as its store reference. */
  pushRef(ref: MessageRef, seq: number, redelivered: boolean, failures: number): void {
    const flags = flagsOf(true, redelivered, failures);
    if (failures >= MAX_FAILURES) this.bigFailures.set(seq, failures);
    this.ring.push(ref.segment, ref.offset, ref.size, seq, flags);
    this.ctx.bodies.paged += ref.size;
  }

  /** Write `message` to the spill; it comes back as a new Message when the queue reaches it. */
  spill(
    message: Message,
    seq: number,
    journaled: boolean,
    redelivered: boolean,
    failures: number,
  ): void {
    const stream = (this.spilled ??= this.ctx.spill.stream(this.queue.id));
    stream.append(message as Message & { body: Buffer });
    const flags = SPILLED | flagsOf(journaled, redelivered, failures);
    if (failures >= MAX_FAILURES) this.bigFailures.set(seq, failures);
    // A spilled entry's third word is unused by the ring: it keeps the body size (paged bytes).
    this.ring.push(0, 0, message.bodySize, seq, flags);
    this.ctx.bodies.paged += message.bodySize;
  }

  /**
   * The next entry, if it is in memory (removed). Keeps the read-ahead going; undefined while
   * the next one is still being read (the queue is woken when it lands).
   */
  take(): QueueEntry | undefined {
    const w = this.window;
    if (w.length === 0) this.fill();
    const e = w.shift();
    if (w.length <= PAGE_IN_BATCH >>> 1) this.fill();
    return e;
  }

  /** The entry `take` would return, if it is in memory. */
  peek(): QueueEntry | undefined {
    if (this.window.length === 0) this.fill();
    return this.window.peek();
  }

  /**
   * When the tail holds messages but none in memory: a promise that resolves once one is (or
   * the tail was emptied, or the store failed). Undefined when there is nothing to wait for.
   */
  whenLoaded(): Promise<void> | undefined {
    if (this.window.length !== 0 || this.ring.length === 0) return undefined;
    this.fill();
    if (this.readFailed && this.reading === 0) return undefined;
    if (this.window.length !== 0) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Move entries from the ring into the window: spilled ones now, journaled ones by a read. */
  private fill(): void {
    const ring = this.ring;
    while (this.reading === 0 && ring.length !== 0 && this.window.length < PAGE_IN_BATCH) {
      const flags = ring.flagsAt0();
      if ((flags & SPILLED) !== 0) {
        const seq = ring.seqAt0();
        this.ctx.bodies.paged -= ring.cAt0();
        ring.shift();
        const r = this.spilled!.shift();
        // Unreadable (reported by the spill): skipped rather than wedging the queue.
        if (r === undefined) continue;
        const m = new Message(
          r.exchange,
          r.routingKey,
          r.properties,
          r.body,
          r.persistent,
          r.priority,
          r.expiresAt,
          r.timestamp,
        );
        this.loaded(new QueueEntry(this.queue, seq, m, (flags & JOURNALED) !== 0), flags);
        continue;
      }
      if (this.readFailed) return;
      this.read();
    }
  }

  /** Start one store read of the journaled entries at the ring's front. */
  private read(): void {
    const refs = this.refs;
    const pool = this.pool;
    refs.length = 0;
    // The ring's front entries up to the first spilled one; they stay in the ring until the
    // read lands. The reference objects are reused: load copies the numbers at once.
    const n = this.ring.peekFront(
      PAGE_IN_BATCH - this.window.length,
      (flags) => (flags & SPILLED) === 0,
      (a, b, c) => {
        let r = pool[refs.length];
        if (r === undefined) pool.push((r = { segment: 0, offset: 0, size: 0 }));
        r.segment = a;
        r.offset = b;
        r.size = c;
        refs.push(r);
      },
    );
    if (n === 0) return;
    this.reading = n;
    const generation = this.generation;
    this.ctx.store.store.load(refs, this.queue.id).then(
      (results) => {
        if (generation !== this.generation) return;
        this.landed(results);
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        // The store failed or closed: nothing more can be read; the broker reports the failure.
        this.reading = 0;
        this.readFailed = true;
        this.ctx.reportError(err, `queue '${this.queue.name}': paged messages not read back`);
        this.wake();
      },
    );
  }

  private landed(results: (PagedMessage | Error)[]): void {
    const ring = this.ring;
    const n = this.reading;
    this.reading = 0;
    for (let i = 0; i < n; i++) {
      const seq = ring.seqAt0();
      const flags = ring.flagsAt0();
      this.ctx.bodies.paged -= ring.cAt0();
      ring.shift();
      const r = results[i];
      if (r === undefined || r instanceof Error) {
        // A damaged record cannot be delivered; skip it rather than wedge the queue.
        this.ctx.reportError(r, `queue '${this.queue.name}': paged message unreadable, skipped`);
        continue;
      }
      this.loaded(new QueueEntry(this.queue, seq, Message.fromStored(r.message), true), flags);
    }
    this.fill();
    this.wake();
  }

  private loaded(entry: QueueEntry, flags: number): void {
    if ((flags & REDELIVERED) !== 0) {
      entry.redelivered = true;
      entry.deliveryCount = 1;
    }
    entry.failures = flags >>> FAILURES_SHIFT;
    if (entry.failures === MAX_FAILURES) {
      entry.failures = this.bigFailures.get(entry.seq) ?? MAX_FAILURES;
      this.bigFailures.delete(entry.seq);
    }
    this.ctx.bodies.hold(entry.message);
    this.window.push(entry);
  }

  /** Entries are in memory (or never will be): tell the queue and basic.get waiters. */
  private wake(): void {
    this.queue.scheduleDrain();
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /**
   * Empty the tail and delete its spill files. Loaded entries go to `entry`; every other
   * message the store holds (journaled: referenced, or spilled from a store that cannot page)
   * goes to `paged` with its seq and a stub carrying only its reference, so the store can
   * settle it without reading it back. A read still under way is thrown away when it lands.
   */
  drainAll(entry: (e: QueueEntry) => void, paged: (seq: number, m: StoredMessage) => void): void {
    for (const e of this.window) entry(e);
    this.window.clear();
    const ring = this.ring;
    while (ring.length !== 0) {
      const flags = ring.flagsAt0();
      if ((flags & SPILLED) === 0) {
        paged(
          ring.seqAt0(),
          locationOnly({ segment: ring.aAt0(), offset: ring.bAt0(), size: ring.cAt0() }),
        );
      } else if ((flags & JOURNALED) !== 0)
        paged(ring.seqAt0(), locationOnly({ segment: 0, offset: 0, size: 0 }));
      this.ctx.bodies.paged -= ring.cAt0();
      ring.shift();
    }
    ring.clear();
    this.bigFailures.clear();
    this.reading = 0;
    this.generation++;
    this.spilled?.clear();
    this.wake();
  }
}
