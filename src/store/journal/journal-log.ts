import { readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StoreCorruptError } from '../store-failure.js';
import { Reclaimer, type ReclaimHost } from './compaction.js';
import { GroupCommit, type GroupCommitHooks } from './group-commit.js';
import {
  checkRecord,
  describeCheck,
  HEADER,
  PAIR,
  RecordKind,
  relocate,
  SEAL_SIZE,
  sealRecord,
  writeSeal,
  writeSeq,
} from './record.js';
import { type JournalFiles, JournalLocation, Segment, spareName } from './segment.js';

export interface JournalStoreOptions {
  dir: string;
  /** Roll to a new segment file past this many bytes (default 64 MiB). */
  segmentSize?: number;
  /** Bytes of bodies recovery keeps in memory; the rest stay on disk (default 256 MiB). */
  bodyBudget?: number;
  /** Compact the oldest segment when its live bytes fall below this share (default 0.5). */
  compactRatio?: number;
  /** Sealed segments needed behind the head before compaction is considered (default 2). */
  compactMinSegments?: number;
}

/** Deleted segment files kept for reuse. */
const MAX_SPARES = 2;

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
  protected readonly reclaimer: Reclaimer;
  protected liveMessages = 0;
  private settles = Buffer.allocUnsafe(64 * PAIR);
  private settleCount = 0;
  /** Records re-appended by compaction and not yet written, for readBody in the meantime. */
  private readonly moving = new Map<JournalLocation, Buffer>();
  /** Paths of spare files, newest last. */
  private readonly spares: string[];

  protected constructor(dir: string, dirFd: number, files: JournalFiles, o: JournalStoreOptions) {
    this.dir = dir;
    this.dirFd = dirFd;
    this.segmentSize = o.segmentSize ?? 64 * 1024 * 1024;
    this.compactRatio = o.compactRatio ?? 0.5;
    this.compactMinSegments = o.compactMinSegments ?? 2;
    this.gc = new GroupCommit(dirFd, this);
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

  // ---- GroupCommit hooks and ReclaimHost -------------------------------------------------

  afterDurable(): void {
    if (this.moving.size > 0) {
      for (const loc of this.moving.keys()) {
        const seg = this.segment(loc.segment);
        if (seg === undefined || loc.offset + loc.size <= seg.written) this.moving.delete(loc);
      }
    }
    this.reclaimer.check();
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

  moveEnqueue(loc: JournalLocation, rec: Buffer): void {
    const seg = this.room(rec.length);
    const out = relocate(rec, loc.targets, seg.id);
    const offset = seg.size;
    const p = this.gc.reserve(seg, out.length);
    out.copy(this.gc.slab, p);
    this.gc.commit(seg, out.length);
    const old = this.segment(loc.segment)!;
    old.live -= loc.refs;
    old.liveBytes -= loc.size;
    old.supersededIn = this.gc.openBatch;
    loc.segment = seg.id;
    loc.offset = offset;
    loc.size = out.length;
    seg.live += loc.refs;
    seg.liveBytes += out.length;
    seg.locs.push(loc);
    this.moving.set(loc, out);
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
    // Most of the sealed segment's messages are usually settled by now: drop them from the
    // compaction index so it does not pin dead locations until the segment is deleted.
    h.locs = h.locs.filter(isLiveIn, h);
    this.seal(h);
    // The new file is created (and its directory entry synced) when its first batch is written.
    const next = new Segment(this.dir, h.id + 1);
    this.segments.push(next);
    return (this.head = next);
  }

  /** End `seg` with a SEAL record: recovery ignores whatever a recycled file holds past it. */
  protected seal(seg: Segment): void {
    const p = this.gc.reserve(seg, SEAL_SIZE);
    this.gc.commit(seg, writeSeal(this.gc.slab, p, seg.id));
  }

  /** Queue a settle for the open batch's SETTLE record and release the reference. */
  protected appendSettle(queueId: number, seq: number, location: unknown): void {
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

  protected writePairs(kind: RecordKind, pairs: Buffer, count: number): Segment {
    const size = HEADER + 4 + count * PAIR;
    const seg = this.room(size);
    const p = this.gc.reserve(seg, size);
    const b = this.gc.slab;
    b.writeUInt32LE(count, p + HEADER);
    pairs.copy(b, p + HEADER + 4, 0, count * PAIR);
    this.gc.commit(seg, sealRecord(b, p, p + size, kind, seg.id));
    return seg;
  }

  /** One (queue, message) reference is gone: settle, purge. */
  protected release(queueId: number, location: unknown): void {
    if (!(location instanceof JournalLocation) || location.refs === 0) return;
    const t = location.targets;
    if (t !== null) {
      let i = 0;
      while (i < t.length && t[i] !== queueId) i += 2;
      if (i >= t.length) return;
      t[i] = t[t.length - 2]!;
      t[i + 1] = t[t.length - 1]!;
      t.length -= 2;
    }
    location.refs--;
    this.liveMessages--;
    const seg = this.segment(location.segment);
    if (seg === undefined) return;
    seg.live--;
    if (location.refs === 0) seg.liveBytes -= location.size;
    seg.supersededIn = this.gc.openBatch;
  }

  /** A definition or watermark record in `segmentId` was superseded. */
  protected unpin(segmentId: number): void {
    const seg = this.segment(segmentId);
    if (seg === undefined) return;
    seg.pins--;
    seg.supersededIn = this.gc.openBatch;
  }

  /** The ENQUEUE record at `loc`, CRC-checked (or its compaction copy not yet written). */
  protected readRecord(loc: JournalLocation): Buffer {
    const seg = this.segment(loc.segment);
    if (seg === undefined) throw new Error(`readBody: segment ${loc.segment} no longer exists`);
    if (loc.offset + loc.size > seg.written) {
      const moved = this.moving.get(loc);
      // The core keeps bodies of messages it has not yet seen confirmed, so this is a misuse.
      if (moved === undefined) throw new Error('readBody: the record is not written yet');
      return moved;
    }
    const rec = Buffer.allocUnsafe(loc.size);
    const fd = seg.readFd();
    let got = 0;
    while (got < loc.size) {
      const n = readSync(fd, rec, got, loc.size - got, loc.offset + got);
      if (n === 0) break;
      got += n;
    }
    const code = checkRecord(rec, 0, got, seg.id);
    if (code !== loc.size || rec[4] !== RecordKind.ENQUEUE) {
      throw new StoreCorruptError(seg.path, loc.offset, describeCheck(code));
    }
    return rec;
  }
}

function isLiveIn(this: Segment, loc: JournalLocation): boolean {
  return loc.refs > 0 && loc.segment === this.id;
}
