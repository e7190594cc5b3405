import type { RecoveryVisitor } from '../store.js';
import type { Definitions } from './pinned-records.js';

/*
 * The journal's queue-id allocator: ids above any a queue of this log ever had, kept so across
 * restarts by a high-water mark stored as a definition. Apart from JournalStore because the
 * mark's key, its block and what recovery does with it are only the allocator's.
 */

/**
 * The definition key of the queue-id high-water mark (a NUL first: no real key starts so).
 * It is kept and re-appended like any definition but never shown to the recovery visitor.
 */
const QUEUE_IDS_KEY = '\u0000baton:queue-ids';
/** Queue ids reserved per high-water record, so a declare rarely writes one. */
const QUEUE_ID_BLOCK = 1024;
const MAX_QUEUE_ID = 0xffffffff;

export class QueueIdAllocator {
  /** Highest queue id handed out, and the highest one a high-water record covers. */
  private last = 0;
  private reserved = 0;
  /** The high-water mark recovery found. */
  private mark = 0;
  private readonly defs: Definitions;

  constructor(defs: Definitions) {
    this.defs = defs;
  }

  /** `outer`, but the high-water mark comes here instead. */
  recovering(outer: RecoveryVisitor): RecoveryVisitor {
    return {
      definition: (key, value) => {
        if (key === QUEUE_IDS_KEY) this.mark = typeof value === 'number' ? value : 0;
        else outer.definition(key, value);
      },
      message: (m) => outer.message(m),
      ...(outer.queue !== undefined && { queue: (q, n) => outer.queue!(q, n) }),
      ...(outer.dedup !== undefined && { dedup: (s, id, e) => outer.dedup!(s, id, e) }),
    };
  }

  /** Recovery is done: ids go on above the mark and every queue it found. */
  recovered(maxQueueId: number): void {
    this.last = this.reserved = Math.max(this.mark, maxQueueId);
  }

  /** `canWrite`: the journal is neither failed nor closed. */
  allocate(canWrite: boolean): number {
    if (this.last >= MAX_QUEUE_ID) throw new RangeError('queue ids are exhausted');
    const id = ++this.last;
    // Persist a high-water mark ahead of the ids handed out: a durable queue's definition goes
    // after it in the log, so no restart can hand its id out again. A failed or closed
    // journal only hands out ids for transient queues, which need no such mark.
    if (id > this.reserved && canWrite) {
      this.reserved = Math.min(MAX_QUEUE_ID, id + QUEUE_ID_BLOCK - 1);
      this.defs.put(QUEUE_IDS_KEY, this.reserved);
    }
    return id;
  }

  reserve(id: number): void {
    if (id > this.last) this.last = id;
  }
}
