import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageLocation } from '../store.js';
import { Reclaimer, type ReclaimHost } from './compaction.js';
import { GroupCommit, type GroupCommitHooks } from './group-commit.js';
import {
  enqueueTargetCount,
  HEADER,
  PAIR,
  RecordKind,
  relocate,
  SEAL_SIZE,
  sealRecord,
  writeSeal,
  writeSeq,
} from './record.js';
import { RecordReader, WINDOW } from './record-reader.js';
import {
  DEAD,
  isLive,
  type JournalFiles,
  MOVED,
  MULTI,
  type RecordIndex,
  Segment,
  SINGLE,
  spareName,
} from './segment.js';

export interface JournalStoreOptions {
  dir: string;
  /** Roll to a new segment file past this many bytes (default 64 MiB). */
  segmentSize?: number;
  /** Bytes of bodies recovery keeps in memory; the rest stay on disk (default: DEFAULT_BODY_BUDGET). */
  bodyBudget?: number;
  /** Compact the oldest segment when its live bytes fall below this share (default 0.5). */
  compactRatio?: number;
  /** Sealed segments needed behind the head before compaction is considered (default 2). */
  compactMinSegments?: number;
  /** Bytes one read-ahead pread fetches for readPaged, readBody and recovery (default 1 MiB). */
  readAhead?: number;
  /** Start past corrupt records (skipped and reported) instead of refusing to (default false). */
  skipCorrupt?: boolean;
}

/** Deleted segment files kept for reuse. */
const MAX_SPARES = 2;
/** New segment files are extended to the segment size from this size on (tests use less). */
const EXTEND_MIN = 16 * 1024 * 1024;

/**
 * The log under JournalStore: the segment list and its head, the group commit, live-count
 * bookkeeping, settles batched per flush, segment rollover and what the reclaimer needs.
 * JournalStore adds the Store verbs, definitions, watermarks and recovery on top.
 */
export abstract class JournalLog implements GroupCommitHooks, ReclaimHost {
  readonly dir: string;
  readonly dirFd: number;
  readonly compactRatio: number;
  readonly compactMinSegments: number;
  /** Oldest first, numbers consecutive; the last one is the head. */
  readonly segments: Segment[] = [];
  head: Segment;
  readonly gc: GroupCommit;
  protected readonly segmentSize: number;
  readonly extendNewFilesTo: number;
  protected readonly reclaimer: Reclaimer;
  protected liveMessages = 0;
  private settles = Buffer.allocUnsafe(64 * PAIR);
  private settleCount = 0;
  /** Read-ahead for readPaged, readBody and recovery. */
  protected readonly reader: RecordReader;
  /**
   * Indexes of deleted segments whose records compaction moved while someone may still hold
   * their old locations: they forward settles and reads to the copies.
   */
  protected readonly retired = new Map<number, RecordIndex>();
  /** Set by `resolve` and `locate`. */
  protected found: RecordIndex | undefined = undefined;
  protected foundAt = 0;
  protected foundSeg: Segment | undefined = undefined;
  protected foundOffset = 0;
  protected foundSize = 0;
  /** Paths of spare files, newest last. */
  private readonly spares: string[];

  protected constructor(
    dir: string,
    dirFd: number,
    files: JournalFiles,
    o: JournalStoreOptions,
    key: number,
  ) {
    this.dir = dir;
    this.dirFd = dirFd;
    this.segmentSize = o.segmentSize ?? 64 * 1024 * 1024;
    this.extendNewFilesTo = this.segmentSize >= EXTEND_MIN ? this.segmentSize : 0;
    this.compactRatio = o.compactRatio ?? 0.5;
    this.compactMinSegments = o.compactMinSegments ?? 2;
    this.reader = new RecordReader(o.readAhead ?? WINDOW);
    this.gc = new GroupCommit(dirFd, this, key);
    this.reclaimer = new Reclaimer(this);
    // Past every spare's number too, so a recycled file's old records can never validate.
    this.head = new Segment(dir, files.maxId + 1);
    this.spares = files.spares.map((name) => join(dir, name));
    const last = files.segments[files.segments.length - 1];
    if (last !== undefined && files.maxId > last) {
      // Spares always come from segments older than every remaining one; one that does not
      // (a file copied in by hand) would leave a gap before the head. It is only a spare.
      for (const p of this.spares.splice(0)) unlinkSync(p);
      this.head = new Segment(dir, last + 1);
    }
  }

  abstract beforeSeal(): void;
  abstract reappendPinned(seg: Segment): void;
  abstract stalled(err: Error | undefined): void;
  abstract failed(err: Error): void;

  // ---- GroupCommit hooks and ReclaimHost -------------------------------------------------

  afterDurable(): void {
    this.reclaimer.check();
  }

  /** Spare files kept for reuse. */
  protected get spareCount(): number {
    return this.spares.length;
  }

  takeSpare(): string | undefined {
    return this.spares.pop();
  }

  spareFor(seg: Segment): string | undefined {
    if (this.spares.length >= MAX_SPARES || seg.size < this.segmentSize / 2) return undefined;
    return join(this.dir, spareName(seg.id));
  }

  addSpare(path: string): void {
    this.spares.push(path);
  }

  moveEnqueue(old: Segment, i: number, rec: Buffer): void {
    const from = old.index;
    const targets = from.refs[i] === MULTI ? from.fansOf(i) : null;
    const seg = this.room(rec.length);
    const out = relocate(rec, targets, seg.id);
    const p = this.gc.reserve(seg, out.length);
    const offset = seg.size;
    out.copy(this.gc.slab, p);
    this.gc.commit(seg, out.length);
    const refs = targets === null ? 1 : targets.length >>> 1;
    if (enqueueTargetCount(out) > 1) seg.index.setFans(seg.index.add(offset, MULTI), targets!);
    else seg.index.add(offset, SINGLE);
    from.setForward(i, seg.id, offset, out.length);
    if (targets !== null) from.fans!.delete(i);
    old.live -= refs;
    old.liveBytes -= rec.length;
    old.supersededIn = this.gc.openBatch;
    seg.live += refs;
    seg.liveBytes += out.length;
  }

  /**
   * `seg` is being deleted. If compaction moved records out of it, its index (trimmed to the
   * moved entries) stays as a forwarding table, so locations handed out before the move still
   * settle and read. Every table is swept here too: one whose moved records have all been
   * settled since is dropped.
   */
  retire(seg: Segment): void {
    const moved = seg.index;
    if (moved.fwd !== undefined) {
      moved.compact((state) => state === MOVED);
      if (moved.count > 0) this.retired.set(seg.id, moved);
    }
    // Keep only forwards that still lead to a live record; drop tables with none left.
    for (const [id, index] of this.retired) {
      let live = 0;
      for (let i = 0; i < index.count; i++) {
        if (this.leadsToLive(index, i)) live++;
        else index.refs[i] = DEAD;
      }
      if (live === 0) this.retired.delete(id);
      else if (live < index.count) index.compact((state) => state === MOVED);
    }
  }

  // ---- for JournalStore ---------------------------------------------------------------

  protected segment(id: number): Segment | undefined {
    const first = this.segments[0];
    return first === undefined ? undefined : this.segments[id - first.id];
  }

  /** The segment a record of `bytes` goes to, rolling to a new one past segmentSize. */
  protected room(bytes: number): Segment {
    const h = this.head;
    if (h.size === 0 || h.size + bytes <= this.segmentSize) return h;
    // Most of the sealed segment's messages are usually settled by now: keep only live ones.
    h.index.compact(isLive);
    this.seal(h);
    // The new file is created (and its directory entry synced) when its first batch is written.
    const next = new Segment(this.dir, h.id + 1);
    this.segments.push(next);
    return (this.head = next);
  }

  /**
   * End `seg` with a SEAL record: recovery ignores whatever a recycled file holds past it.
   * `clean` only from close(), after everything else is flushed.
   */
  protected seal(seg: Segment, clean = false): void {
    const p = this.gc.reserve(seg, SEAL_SIZE);
    this.gc.commit(seg, writeSeal(this.gc.slab, p, seg.id, clean));
    seg.sealed = true;
  }

  /** Queue a settle for the open batch's SETTLE record and release the reference. */
  protected appendSettle(
    queueId: number,
    seq: number,
    location: MessageLocation | undefined,
  ): void {
    const at = this.settleCount * PAIR;
    if (at + PAIR > this.settles.length) {
      const grown = Buffer.allocUnsafe(this.settles.length * 2);
      this.settles.copy(grown, 0, 0, at);
      this.settles = grown;
    }
    this.settles.writeUInt32LE(queueId, at);
    writeSeq(this.settles, at + 4, seq);
    this.settleCount++;
    this.gc.touch();
    this.release(queueId, location);
  }

  /** Encode the pending settles; called as the batch is sealed. */
  protected flushSettles(): void {
    if (this.settleCount > 0) {
      this.writePairs(RecordKind.SETTLE, this.settles, this.settleCount);
      this.settleCount = 0;
    }
  }

  /** A record of `u32 count | count entries` of `entry` bytes each, from `entries`. */
  protected writePairs(kind: RecordKind, entries: Buffer, count: number, entry = PAIR): Segment {
    const size = HEADER + 4 + count * entry;
    const seg = this.room(size);
    const p = this.gc.reserve(seg, size);
    const b = this.gc.slab;
    b.writeUInt32LE(count, p + HEADER);
    entries.copy(b, p + HEADER + 4, 0, count * entry);
    this.gc.commit(seg, sealRecord(b, p, p + size, kind, seg.id));
    return seg;
  }

  /**
   * One (queue, message) reference is gone: settle, purge. `location` may be any object with
   * the three numbers, including a stale one of a record compaction has since moved.
   */
  protected release(queueId: number, location: MessageLocation | undefined): void {
    if (location === undefined || !this.resolve(location)) return;
    const index = this.found!;
    const i = this.foundAt;
    if (index.refs[i] === MULTI) {
      const t = index.fansOf(i);
      let k = 0;
      while (k < t.length && t[k] !== queueId) k += 2;
      if (k >= t.length) return;
      t[k] = t[t.length - 2]!;
      t[k + 1] = t[t.length - 1]!;
      t.length -= 2;
      if (t.length === 0) {
        index.refs[i] = DEAD;
        index.fans!.delete(i);
      }
    } else index.refs[i] = DEAD;
    this.liveMessages--;
    const seg = this.foundSeg!;
    seg.live--;
    if (index.refs[i] === DEAD) seg.liveBytes -= this.foundSize;
    seg.supersededIn = this.gc.openBatch;
  }

  /**
   * Find the live index entry for `location`, following compaction's forwards. Sets `found`,
   * `foundAt`, `foundSeg` and `foundSize`; false if the record is not live (or unknown).
   */
  protected resolve(location: MessageLocation): boolean {
    let id = location.segment;
    let offset = location.offset;
    let size = location.size;
    for (let hops = 0; hops < 1000; hops++) {
      const seg = this.segment(id);
      const index = seg?.index ?? this.retired.get(id);
      if (index === undefined) return false;
      const i = index.find(offset);
      if (i < 0) return false;
      const state = index.refs[i]!;
      if (state === MOVED) {
        const f = index.fwd!;
        id = f[i * 3]!;
        offset = f[i * 3 + 1]!;
        size = f[i * 3 + 2]!;
        continue;
      }
      if (!isLive(state) || seg === undefined) return false;
      this.found = index;
      this.foundAt = i;
      this.foundSeg = seg;
      this.foundSize = size;
      return true;
    }
    return false;
  }

  /**
   * Where to read the record at `location`: the newest copy whose bytes are written (a
   * compaction copy once it is, else the original, which stays until the copy is durable).
   * Sets `foundSeg`, `foundOffset` and `foundSize`; false if the record is not written yet.
   * Throws if no segment holds it any more.
   */
  protected locate(location: MessageLocation): boolean {
    let id = location.segment;
    let offset = location.offset;
    let size = location.size;
    let have: Segment | undefined = undefined;
    for (let hops = 0; hops < 1000; hops++) {
      const seg = this.segment(id);
      const index = seg?.index ?? this.retired.get(id);
      if (index === undefined) break;
      if (seg !== undefined) {
        if (offset + size > seg.written) {
          if (hops === 0) return false;
          break;
        }
        have = seg;
        this.foundOffset = offset;
        this.foundSize = size;
      }
      const i = index.find(offset);
      if (i < 0 || index.refs[i] !== MOVED) break;
      const f = index.fwd!;
      id = f[i * 3]!;
      offset = f[i * 3 + 1]!;
      size = f[i * 3 + 2]!;
    }
    if (have === undefined) {
      throw new Error(
        `journal location ${location.segment}:${location.offset} (${location.size} bytes) ` +
          'is not in the journal any more: its segment was deleted',
      );
    }
    this.foundSeg = have;
    return true;
  }

  /** Whether the record at (`id`, entry `i`) was moved to a copy some queue still holds. */
  private leadsToLive(index: RecordIndex, i: number): boolean {
    const f = index.fwd!;
    const location = { segment: f[i * 3]!, offset: f[i * 3 + 1]!, size: f[i * 3 + 2]! };
    return this.resolve(location);
  }

  /** A definition or watermark record in `segmentId` was superseded. */
  protected unpin(segmentId: number): void {
    const seg = this.segment(segmentId);
    if (seg === undefined) return;
    seg.pins--;
    seg.supersededIn = this.gc.openBatch;
  }
}
