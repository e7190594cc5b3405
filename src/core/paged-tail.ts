import type { MessageLocation, Store, StoredMessage } from '../store/store.js';
import { PagedRing } from '../util/paged-ring.js';
import { Message } from './message.js';
import { QueueEntry } from './queue-entry.js';
import type { Queue } from './queue.js';

/** Segment number that marks a parked in-memory entry instead of a journal position. */
const PARKED = 0xffffffff;

/**
 * The paged-out tail of a queue: everything behind the in-memory ready list once the broker's
 * body budget is spent. Journaled messages are kept as three numbers (their journal position)
 * and read back just before delivery; a transient message that arrives meanwhile is parked
 * in memory with a marker in the ring, so order is kept.
 */
export class PagedTail {
  private readonly ring = new PagedRing();
  private readonly parked = new Map<number, QueueEntry>();
  private parkKey = 0;
  /** Recovered messages with seq at or below this had been delivered before the restart. */
  redeliveredUpTo = 0;
  private readonly scratch = { segment: 0, offset: 0, size: 0 };

  get length(): number {
    return this.ring.length;
  }

  pushLocation(location: MessageLocation): void {
    this.ring.push(location.segment, location.offset, location.size);
  }

  park(entry: QueueEntry): void {
    const key = ++this.parkKey;
    this.parked.set(key, entry);
    this.ring.push(PARKED, key, 0);
  }

  /**
   * Move up to `max` entries from the front of the tail into `out`. Stops early (returning
   * false) when the next record has not been written yet; the caller retries after a sync.
   */
  pageIn(queue: Queue, store: Store, max: number, out: (e: QueueEntry) => void): boolean {
    const ring = this.ring;
    for (let n = 0; n < max && ring.length !== 0; n++) {
      const seg = ring.segmentAt0();
      let entry: QueueEntry;
      if (seg === PARKED) {
        const key = ring.offsetAt0();
        entry = this.parked.get(key)!;
        this.parked.delete(key);
      } else {
        const loc = this.scratch;
        loc.segment = seg;
        loc.offset = ring.offsetAt0();
        loc.size = ring.sizeAt0();
        let read;
        try {
          if (!store.isReadable(loc)) return false;
          read = store.readPaged(loc, queue.id);
        } catch (err) {
          // A damaged record cannot be delivered; skip it rather than wedge the queue.
          queue.vhost.broker.reportError(
            err,
            `queue '${queue.name}': paged message unreadable, skipped`,
          );
          ring.shift();
          continue;
        }
        const { message: sm, seq } = read;
        entry = new QueueEntry(queue, seq, Message.fromStored(sm), true);
        if (seq <= this.redeliveredUpTo) {
          entry.redelivered = true;
          entry.deliveryCount = 1;
        }
      }
      ring.shift();
      out(entry);
    }
    return true;
  }

  /**
   * Empty the tail. Parked entries go to `parkedOut`; journaled positions are turned into
   * minimal stored messages (location only) so the store can release their space.
   */
  drainAll(parkedOut: (e: QueueEntry) => void): StoredMessage[] {
    const ring = this.ring;
    const journaled: StoredMessage[] = [];
    while (ring.length !== 0) {
      const seg = ring.segmentAt0();
      if (seg === PARKED) parkedOut(this.parked.get(ring.offsetAt0())!);
      else journaled.push(locationOnly(seg, ring.offsetAt0(), ring.sizeAt0()));
      ring.shift();
    }
    this.parked.clear();
    ring.clear();
    return journaled;
  }
}

function locationOnly(segment: number, offset: number, size: number): StoredMessage {
  return {
    exchange: '',
    routingKey: '',
    properties: EMPTY,
    body: undefined,
    bodySize: 0,
    priority: 0,
    expiresAt: 0,
    location: { segment, offset, size },
  };
}

const EMPTY = Buffer.alloc(0);
