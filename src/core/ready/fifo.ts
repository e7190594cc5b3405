import type { StoredMessage } from '../../store/store.js';
import { RingBuffer } from '../../util/ring-buffer.js';
import type { Message } from '../message.js';
import { PagedTail } from '../paged-tail.js';
import type { QueueContext } from '../queue-context.js';
import { QueueEntry } from '../queue-entry.js';
import type { Queue } from '../queue.js';
import type { ReadyList } from './ready-list.js';

/**
 * Oldest first. Ready entries live in a ring; entries put back by nack/requeue or a closed
 * session go to `requeued`, sorted into descending seq order (lazily, before the next take) so
 * the oldest is popped first and a requeued message gets its original place back; sorting once
 * per batch keeps a mass requeue O(n log n). Behind the ring is the paged tail: messages kept
 * only as store references (or spilled) once the broker's body budget is spent, read back
 * asynchronously in batches, ahead of need (paged-tail.ts).
 */
export class FifoReadyList implements ReadyList {
  private readonly queue: Queue;
  private readonly ctx: QueueContext;
  private readonly ring = new RingBuffer<QueueEntry>();
  private readonly requeued: QueueEntry[] = [];
  private requeuedUnsorted = false;
  private readonly tail: PagedTail;

  constructor(queue: Queue, ctx: QueueContext) {
    this.queue = queue;
    this.ctx = ctx;
    this.tail = new PagedTail(queue, ctx);
  }

  get length(): number {
    return this.ring.length + this.requeued.length + this.tail.length;
  }

  /**
   * Once the body budget is spent, a journaled message is kept only as its store reference
   * (paged out) and any other is written to the transient spill; after that, everything goes
   * behind them until the paged tail has been read back in, so order holds.
   */
  add(
    message: Message,
    seq: number,
    journaled: boolean,
    redelivered: boolean,
    failures: number,
  ): void {
    if (this.tail.length === 0 && message.body !== undefined && !this.ctx.bodies.over) {
      const entry = new QueueEntry(this.queue, seq, message, journaled);
      if (redelivered) {
        entry.redelivered = true;
        entry.deliveryCount = 1;
      }
      entry.failures = failures;
      this.ctx.bodies.hold(message);
      this.ring.push(entry);
      return;
    }
    const ref = message.location;
    if (journaled && ref !== undefined && this.ctx.store.store.capabilities.paging) {
      this.tail.pushRef(ref, seq, redelivered, failures);
    } else {
      this.tail.spill(message, seq, journaled, redelivered, failures);
    }
  }

  requeue(entry: QueueEntry): void {
    this.requeued.push(entry);
    this.requeuedUnsorted = true;
  }

  take(): QueueEntry | undefined {
    const r = this.requeued;
    if (r.length !== 0) {
      this.sortRequeued();
      return r.pop();
    }
    if (this.ring.length !== 0) return this.ring.shift();
    return this.tail.length !== 0 ? this.tail.take() : undefined;
  }

  peek(): QueueEntry | undefined {
    const r = this.requeued;
    if (r.length !== 0) {
      this.sortRequeued();
      return r[r.length - 1];
    }
    if (this.ring.length !== 0) return this.ring.peek();
    return this.tail.length !== 0 ? this.tail.peek() : undefined;
  }

  whenReady(): Promise<void> | undefined {
    if (this.requeued.length !== 0 || this.ring.length !== 0) return undefined;
    return this.tail.whenLoaded();
  }

  private sortRequeued(): void {
    if (!this.requeuedUnsorted) return;
    this.requeued.sort(bySeqDescending);
    this.requeuedUnsorted = false;
  }

  clear(entry: (e: QueueEntry) => void, paged: (seq: number, m: StoredMessage) => void): void {
    for (const e of this.requeued) entry(e);
    for (const e of this.ring) entry(e);
    this.requeued.length = 0;
    this.ring.clear();
    this.tail.drainAll(entry, paged);
  }
}

function bySeqDescending(a: QueueEntry, b: QueueEntry): number {
  return b.seq - a.seq;
}
