import type { SpillStream } from '../store/spill.js';
import type { MessageLocation, Store, StoredMessage } from '../store/store.js';
import { PagedRing } from '../util/paged-ring.js';
import { Message } from './message.js';
import type { QueueContext } from './queue-context.js';
import { QueueEntry } from './queue-entry.js';
import type { Queue } from './queue.js';

/**
 * Segment number that marks a spilled message instead of a journal position. Its record is the
 * next one in the queue's spill stream; the ring slot keeps its seq (offset: low 32 bits,
 * size: flags and the high bits) so a purge can settle it without reading it back.
 */
const SPILLED = 0xffffffff;
const JOURNALED = 1;
const REDELIVERED = 2;
const FLAG_BITS = 2;
const LOW = 2 ** 32;

/**
 * The paged-out tail of a queue: everything behind the in-memory ready list once the broker's
 * body budget is spent. Journaled messages are kept as three numbers (their journal position)
 * and read back just before delivery; any other message (transient, non-durable queue, memory
 * store) is written to the broker's transient spill, with a marker in the ring, so order holds.
 */
export class PagedTail {
  private readonly ring = new PagedRing();
  private spilled: SpillStream | undefined;
  /** Recovered messages with seq at or below this had been delivered before the restart. */
  redeliveredUpTo = 0;
  private readonly scratch = { segment: 0, offset: 0, size: 0 };
  private readonly ctx: QueueContext;

  constructor(ctx: QueueContext) {
    this.ctx = ctx;
  }

  get length(): number {
    return this.ring.length;
  }

  pushLocation(location: MessageLocation): void {
    this.ring.push(location.segment, location.offset, location.size);
  }

  /** Write `message` to the spill; it comes back as a new Message when the queue reaches it. */
  spill(queue: Queue, message: Message, seq: number, journaled: boolean, redelivered: boolean) {
    const stream = (this.spilled ??= this.ctx.spill.stream(queue.id));
    stream.append(message as Message & { body: Buffer });
    const flags = (journaled ? JOURNALED : 0) | (redelivered ? REDELIVERED : 0);
    this.ring.push(SPILLED, seq % LOW, flags | (Math.floor(seq / LOW) << FLAG_BITS));
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
      if (seg === SPILLED) {
        const bits = ring.sizeAt0();
        const seq = ring.offsetAt0() + (bits >>> FLAG_BITS) * LOW;
        const r = this.spilled!.shift();
        ring.shift();
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
        );
        entry = new QueueEntry(queue, seq, m, (bits & JOURNALED) !== 0);
        if ((bits & REDELIVERED) !== 0) {
          entry.redelivered = true;
          entry.deliveryCount = 1;
        }
        out(entry);
        continue;
      }
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
        this.ctx.reportError(err, `queue '${queue.name}': paged message unreadable, skipped`);
        ring.shift();
        continue;
      }
      const { message: sm, seq } = read;
      entry = new QueueEntry(queue, seq, Message.fromStored(sm), true);
      if (seq <= this.redeliveredUpTo) {
        entry.redelivered = true;
        entry.deliveryCount = 1;
      }
      ring.shift();
      out(entry);
    }
    return true;
  }

  /**
   * Empty the tail and delete its spill files. Journal positions are turned into minimal
   * stored messages (location only) so the store can release their space; spilled messages the
   * store holds (journaled ones, memory store only) go to `journaledSpill` with their seq.
   */
  drainAll(journaledSpill: (seq: number, m: StoredMessage) => void): StoredMessage[] {
    const ring = this.ring;
    const journaled: StoredMessage[] = [];
    while (ring.length !== 0) {
      const seg = ring.segmentAt0();
      if (seg === SPILLED) {
        const bits = ring.sizeAt0();
        if ((bits & JOURNALED) !== 0)
          journaledSpill(ring.offsetAt0() + (bits >>> FLAG_BITS) * LOW, locationOnly(0, 0, 0));
      } else journaled.push(locationOnly(seg, ring.offsetAt0(), ring.sizeAt0()));
      ring.shift();
    }
    ring.clear();
    this.spilled?.clear();
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
