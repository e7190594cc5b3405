import { fsync, rename, unlink } from 'node:fs';
import type { GroupCommit } from './group-commit.js';
import { HEADER } from './record.js';
import { RecordReader } from './record-reader.js';
import { isLive, type Segment } from './segment.js';

/** What the reclaimer needs from the store that owns the segments. */
export interface ReclaimHost {
  readonly segments: Segment[];
  readonly head: Segment;
  readonly gc: GroupCommit;
  readonly dirFd: number;
  readonly compactRatio: number;
  readonly compactMinSegments: number;
  /** Re-append the definitions and watermarks whose latest record is in `seg`. */
  reappendPinned(seg: Segment): void;
  /** Re-append `seg`'s ENQUEUE record `rec` (index entry `i`) at the head, forwarding to it. */
  moveEnqueue(seg: Segment, i: number, rec: Buffer): void;
  /** `seg` left the segment list: keep its forwards while they lead somewhere live. */
  retire(seg: Segment): void;
  /** Where to keep `seg`'s file for reuse, or undefined to unlink it. */
  spareFor(seg: Segment): string | undefined;
  addSpare(path: string): void;
}

/**
 * Bytes of live records copied per event-loop turn while compacting. A step reads, checks,
 * re-seals and copies each record synchronously (tens of microseconds per KB record): a
 * mebibyte held the loop for 10-100 ms, delaying every delivery meanwhile; 64 KiB keeps a
 * step near a millisecond, and compaction only takes more turns.
 */
const STEP_BYTES = 64 * 1024;
/** The compaction scan's read-ahead: one pread fetches this much of the segment. */
const READ_AHEAD = 1 << 20;

/**
 * Deletes and compacts segments, oldest first and one at a time.
 *
 * Only a prefix of the log is ever deleted: a later segment may hold the settle, purge or
 * definition-delete that cancels a record in an earlier one, so deleting out of order could
 * resurrect messages. The oldest segment goes when it is not the head, holds no live message,
 * its definitions and watermarks were re-appended at the head, and the batch holding the
 * records that superseded it is durable. It is unlinked, or renamed to a spare for a later
 * segment to reuse, and the directory is fsynced before the next one goes, so after a power
 * cut at most the most recently deleted segment (then the oldest) can reappear, which is
 * harmless: everything in it is superseded by later segments.
 *
 * Compaction handles a few long-lived messages pinning an old segment: when the oldest segment
 * is mostly dead, the journal behind the head is mostly dead as well (so a FIFO backlog being
 * drained is not copied over and over) and enough segments are sealed, its live ENQUEUE
 * records are re-appended at the head (a recovery sees the later copy win), after which the
 * segment is deleted as above.
 */
export class Reclaimer {
  compactions = 0;
  deletedSegments = 0;
  private readonly host: ReclaimHost;
  private busy = false;
  private stopped = false;
  private compacting: Segment | undefined = undefined;
  private cursor = 0;
  private moved = 0;
  /** Its own read-ahead, so compaction's sequential scan does not evict readPaged's. */
  private readonly reader = new RecordReader(READ_AHEAD, 1);
  private readonly noCompact = new WeakSet<Segment>();
  private idle: (() => void)[] = [];

  constructor(host: ReclaimHost) {
    this.host = host;
  }

  /** Look for work; called after every durable batch and after recovery. */
  check(): void {
    if (this.busy || this.stopped) return;
    const h = this.host;
    const s = h.segments[0];
    if (s === undefined || s === h.head || s.synced < s.size || s.readers > 0) return;
    if (s.live === 0) {
      if (s.pins > 0) h.reappendPinned(s);
      else if (h.gc.durableBatch >= s.supersededIn) this.remove(s);
    } else if (!this.noCompact.has(s) && this.worthCompacting(s)) {
      this.busy = true;
      this.compacting = s;
      this.cursor = this.moved = 0;
      setImmediate(this.step);
    }
  }

  /** Stop starting work; resolves when nothing is in progress. */
  stop(): Promise<void> {
    this.stopped = true;
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private worthCompacting(s: Segment): boolean {
    const h = this.host;
    const sealed = h.segments.length - 1;
    if (sealed < h.compactMinSegments || s.liveBytes >= h.compactRatio * s.size) return false;
    let live = 0;
    let size = 0;
    for (let i = 0; i < sealed; i++) {
      live += h.segments[i]!.liveBytes;
      size += h.segments[i]!.size;
    }
    return live < h.compactRatio * size;
  }

  private remove(s: Segment): void {
    const h = this.host;
    this.busy = true;
    h.segments.shift();
    h.retire(s);
    s.closeFd();
    const spare = h.spareFor(s);
    const removed = (err: NodeJS.ErrnoException | null): void => {
      if (err !== null && err.code !== 'ENOENT') return this.giveUp();
      fsync(h.dirFd, (err2) => {
        if (err2 !== null) return this.giveUp();
        if (spare !== undefined && err === null) h.addSpare(spare);
        this.deletedSegments++;
        this.settle();
        this.check();
      });
    };
    if (spare === undefined) unlink(s.path, removed);
    else rename(s.path, spare, removed);
  }

  /** A file could not be deleted: keep every later one too, so the log stays a suffix. */
  private giveUp(): void {
    this.stopped = true;
    this.settle();
  }

  private settle(): void {
    this.busy = false;
    this.compacting = undefined;
    const idle = this.idle;
    this.idle = [];
    for (const r of idle) r();
  }

  private readonly step = (): void => {
    const h = this.host;
    const s = this.compacting!;
    if (this.stopped || h.gc.failure !== undefined) return this.settle();
    let budget = STEP_BYTES;
    const index = s.index;
    while (this.cursor < index.count && budget > 0) {
      const i = this.cursor++;
      if (!isLive(index.refs[i]!)) continue;
      let rec: Buffer;
      try {
        const buf = this.reader.enqueue(s, index.offs[i]!);
        rec = buf.subarray(
          this.reader.at,
          this.reader.at + HEADER + buf.readUInt32LE(this.reader.at),
        );
      } catch {
        // Damaged on disk: leave the segment alone rather than copy garbage.
        this.noCompact.add(s);
        return this.settle();
      }
      h.moveEnqueue(s, i, rec);
      this.moved++;
      budget -= rec.length;
    }
    if (this.cursor < index.count) {
      setImmediate(this.step);
      return;
    }
    if (this.moved > 0) this.compactions++;
    if (s.live !== 0) this.noCompact.add(s);
    this.settle();
    // Usually the moves' batch triggers the next check; if nothing moved, nothing else would.
    this.check();
  };
}
