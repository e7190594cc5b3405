import { locationOnly, type RecoveryVisitor, type StoredMessage } from '../store.js';
import {
  checkRecord,
  DEDUP_FIXED,
  enqueueFixed,
  FAILURE_ENTRY,
  HEADER,
  PAIR,
  readSeq,
  RecordKind,
  sealIsClean,
} from './record.js';
import { QueueScan } from './queue-scan.js';
import type { ReplayOptions } from './recovery.js';
import {
  DedupEntry,
  DefEntry,
  FailureEntry,
  JournalLocation,
  MarkEntry,
  MULTI,
  SCANNED_MULTI,
  SCANNED_SINGLE,
  type Segment,
  SINGLE,
} from './segment.js';

/*
 * What recovery rebuilds from the records: Scanner applies each valid one to the definitions,
 * watermarks, queues, failure counts and dedup ids, then replays the surviving messages to
 * the visitor. Apart from segment-scan.ts: it sees only buffers of records, never a file or
 * what damage in it means.
 */

/**
 * The scan keeps no object per message: each ENQUEUE record gets an entry in its segment's
 * RecordIndex (offset, size, state) and a record number (position in scan order); each queue
 * maps seq -> record number in a QueueScan. Nothing of a message's content is decoded until
 * the replay, which reads back only the records whose bodies fit in the budget.
 */
export class Scanner {
  readonly defs = new Map<string, DefEntry>();
  readonly marks = new Map<number, MarkEntry>();
  readonly queues = new Map<number, QueueScan>();
  /**
   * The highest failure count recorded per (queue, seq) and the segment of the latest record
   * of it, dropped again by a settle or purge (so it stays small: only messages that failed
   * and are still around).
   */
  readonly failures = new Map<number, Map<number, FailureEntry>>();
  /** The newest record of each deduplication id (scope -> id). */
  readonly dedups = new Map<number, Map<string, DedupEntry>>();
  dedupOrder = 0;
  records = 0;
  maxQueueId = 0;
  sealed = false;
  /** The SEAL that ended the segment came from a clean close. */
  clean = false;
  code = 0;
  /** Record number of each scanned segment's first ENQUEUE record. */
  private readonly bases: number[] = [];
  private nextRec = 0;
  /** Segments finished so far. */
  private segments = 0;
  private lastQueueId = -1;
  private lastQueue: QueueScan | undefined = undefined;

  /**
   * Apply the valid records of `buf[0, size)`, which holds the segment's bytes from file
   * offset `base` on (the first records of it, or the ones after an earlier call's stop;
   * `endSegment` ends the segment).
   * Returns where in `buf` they end; sets `sealed` when a SEAL record ended the segment, and
   * `code` to checkRecord's verdict on the bytes where it stopped (0 at `size`).
   */
  segment(buf: Buffer, size: number, seg: Segment, base: number): number {
    if (this.bases.length === this.segments) this.bases.push(this.nextRec);
    const first = this.bases[this.segments]!;
    const index = seg.index;
    let off = 0;
    this.sealed = false;
    this.code = 0;
    while (off < size) {
      const n = checkRecord(buf, off, size, seg.id);
      if (n < 0) {
        this.code = n;
        break;
      }
      const p = off + HEADER;
      const kind = buf[off + 4];
      if (kind === RecordKind.SEAL) {
        this.records++;
        this.sealed = true;
        this.clean = sealIsClean(buf, off);
        off += n;
        break;
      }
      if (kind === RecordKind.TXN) {
        // All of the commit checked out: apply the records inside it as if they stood alone.
        this.records++;
        off += HEADER;
        continue;
      }
      switch (kind) {
        case RecordKind.ENQUEUE_T:
        case RecordKind.ENQUEUE: {
          const fixed = enqueueFixed(kind);
          const count = buf.readUInt16LE(p + fixed - 2);
          const state = count > 1 ? SCANNED_MULTI : SCANNED_SINGLE;
          const rec = first + index.add(base + off, state, n, buf[p], buf.readDoubleLE(p + 1));
          for (let q = p + fixed, e = q + count * PAIR; q < e; q += PAIR) {
            // A compaction copy repeats (queue, seq): the later copy wins.
            this.queue(buf.readUInt32LE(q)).set(readSeq(buf, q + 4), rec);
          }
          break;
        }
        case RecordKind.SETTLE:
          for (let q = p + 4, e = q + buf.readUInt32LE(p) * PAIR; q < e; q += PAIR) {
            const queueId = buf.readUInt32LE(q);
            const seq = readSeq(buf, q + 4);
            this.queue(queueId).delete(seq);
            if (this.failures.size !== 0) this.forgetFailures(queueId, seq);
          }
          break;
        case RecordKind.FAILURES:
          for (let q = p + 4, e = q + buf.readUInt32LE(p) * FAILURE_ENTRY; q < e;) {
            const queueId = buf.readUInt32LE(q);
            this.failed(queueId, readSeq(buf, q + 4), buf.readUInt32LE(q + PAIR), seg.id);
            q += FAILURE_ENTRY;
          }
          break;
        case RecordKind.PURGE:
          this.purge(buf.readUInt32LE(p), readSeq(buf, p + 4));
          break;
        case RecordKind.DEDUP:
          for (let q = p + 4, k = buf.readUInt32LE(p); k > 0; k--) {
            const length = buf.readUInt32LE(q + 20);
            const id = buf.toString('utf8', q + DEDUP_FIXED, q + DEDUP_FIXED + length);
            this.dedup(
              buf.readUInt32LE(q),
              id,
              readSeq(buf, q + 4),
              buf.readDoubleLE(q + 12),
              seg.id,
            );
            q += DEDUP_FIXED + length;
          }
          break;
        case RecordKind.WATERMARK:
          for (let q = p + 4, e = q + buf.readUInt32LE(p) * PAIR; q < e; q += PAIR) {
            this.mark(buf.readUInt32LE(q), readSeq(buf, q + 4), seg.id);
          }
          break;
        case RecordKind.DEF_PUT: {
          const key = buf.toString('utf8', p + 4, p + 4 + buf.readUInt32LE(p));
          this.defs.set(key, new DefEntry(Buffer.from(buf.subarray(p, off + n)), seg.id));
          break;
        }
        case RecordKind.DEF_DELETE:
          this.defs.delete(buf.toString('utf8', p + 4, p + 4 + buf.readUInt32LE(p)));
          break;
      }
      this.records++;
      off += n;
    }
    this.nextRec = first + index.count;
    return off;
  }

  /** The current segment is done: the next `segment` call starts another. */
  endSegment(): void {
    this.segments++;
  }

  private queue(queueId: number): QueueScan {
    if (queueId === this.lastQueueId) return this.lastQueue!;
    let q = this.queues.get(queueId);
    if (q === undefined) {
      this.queues.set(queueId, (q = new QueueScan()));
      if (queueId > this.maxQueueId) this.maxQueueId = queueId;
    }
    this.lastQueueId = queueId;
    return (this.lastQueue = q);
  }

  private dedup(
    scope: number,
    id: string,
    order: number,
    expiresAt: number,
    segment: number,
  ): void {
    if (order > this.dedupOrder) this.dedupOrder = order;
    if (scope > this.maxQueueId) this.maxQueueId = scope;
    let ids = this.dedups.get(scope);
    if (ids === undefined) this.dedups.set(scope, (ids = new Map<string, DedupEntry>()));
    const e = ids.get(id);
    // A re-appended copy keeps its order and comes later: it wins, as a newer order does.
    if (e === undefined || order >= e.order)
      ids.set(id, new DedupEntry(scope, id, order, expiresAt, segment));
  }

  /** Drop the expired ids; the rest, oldest first. */
  liveDedups(now: number): DedupEntry[] {
    const out: DedupEntry[] = [];
    for (const [scope, ids] of this.dedups) {
      for (const [id, e] of ids) {
        if (e.expired(now)) ids.delete(id);
        else out.push(e);
      }
      if (ids.size === 0) this.dedups.delete(scope);
    }
    return out.sort((a, b) => a.order - b.order);
  }

  private failed(queueId: number, seq: number, failures: number, segment: number): void {
    this.queue(queueId).saw(seq);
    if (failures === 0) return;
    let counts = this.failures.get(queueId);
    if (counts === undefined)
      this.failures.set(queueId, (counts = new Map<number, FailureEntry>()));
    const e = counts.get(seq);
    if (e === undefined) counts.set(seq, new FailureEntry(queueId, seq, failures, segment));
    else if (failures >= e.count) {
      // The later record of the highest count is the one to keep (and pin).
      e.count = failures;
      e.segment = segment;
    }
  }

  private forgetFailures(queueId: number, seq: number): void {
    const counts = this.failures.get(queueId);
    if (counts !== undefined && counts.delete(seq) && counts.size === 0) {
      this.failures.delete(queueId);
    }
  }

  private purge(queueId: number, upto: number): void {
    this.queue(queueId).purge(upto);
    const counts = this.failures.get(queueId);
    if (counts !== undefined) {
      for (const seq of counts.keys()) if (seq <= upto) counts.delete(seq);
      if (counts.size === 0) this.failures.delete(queueId);
    }
    const mark = this.marks.get(queueId);
    if (mark !== undefined && mark.seq <= upto) this.marks.delete(queueId);
  }

  private mark(queueId: number, seq: number, segment: number): void {
    this.queue(queueId).saw(seq);
    const m = this.marks.get(queueId);
    if (m === undefined) this.marks.set(queueId, new MarkEntry(queueId, seq, segment));
    else if (seq >= m.seq) {
      m.seq = seq;
      m.segment = segment;
    }
  }

  /**
   * Rebuild live counts and hand every surviving message to the visitor, queue by queue.
   * Records are read back (sequentially, through the read-ahead reader) only while their
   * bodies fit in the budget; once one does not, every later message is handed over as a
   * paged reference: body undefined and only `location` meaningful. Failure counts of the
   * messages handed over are added to `liveFailures`.
   */
  replay(
    segments: Segment[],
    clean: boolean,
    { bodyBudget, reader, decoder }: ReplayOptions,
    visitor: RecoveryVisitor,
    liveFailures: Map<number, Map<number, FailureEntry>>,
  ): number {
    const bases = this.bases;
    let live = 0;
    let bodyBytes = 0;
    let full = !(bodyBudget > 0);
    let si = 0;
    /** Messages routed to several queues, decoded once with their body. */
    const shared = new Map<number, StoredMessage>();
    for (const [queueId, qs] of this.queues) {
      const mark = this.marks.get(queueId);
      const delivered = !clean ? Infinity : mark === undefined ? -1 : mark.seq;
      const counts = this.failures.get(queueId);
      let kept: Map<number, FailureEntry> | undefined = undefined;
      if (qs.size > 0) visitor.queue?.(queueId, qs.size);
      qs.drain((seq, rec) => {
        if (rec < bases[si]! || (si + 1 < bases.length && rec >= bases[si + 1]!)) {
          si = segmentOf(bases, rec);
        }
        const seg = segments[si]!;
        const index = seg.index;
        const i = rec - bases[si]!;
        const size = index.sizes![i]!;
        let multi = false;
        switch (index.refs[i]) {
          case SCANNED_SINGLE:
            index.refs[i] = SINGLE;
            seg.liveBytes += size;
            break;
          case SCANNED_MULTI:
            index.refs[i] = MULTI;
            index.setFans(i, [queueId, seq]);
            seg.liveBytes += size;
            multi = true;
            break;
          case MULTI:
            index.fansOf(i).push(queueId, seq);
            multi = true;
            break;
          default:
            return;
        }
        seg.live++;
        live++;
        const location = new JournalLocation(seg.id, index.offs[i]!, size);
        let message = multi ? shared.get(rec) : undefined;
        if (message === undefined) {
          if (full) message = locationOnly(location, index.priorityOf(i), index.expiryOf(i));
          else {
            const buf = reader.enqueue(seg, location.offset, size);
            message = decoder.decode(buf, reader.at, size, location, bodyBudget - bodyBytes);
            if (message.body === undefined) full = true;
            else {
              bodyBytes += message.bodySize;
              if (multi) shared.set(rec, message);
            }
          }
        }
        let failures = 0;
        const e = counts?.get(seq);
        if (e !== undefined) {
          failures = e.count;
          if (kept === undefined)
            liveFailures.set(queueId, (kept = new Map<number, FailureEntry>()));
          kept.set(seq, e);
        }
        visitor.message({ queueId, seq, message, redelivered: seq <= delivered, failures });
      });
    }
    return live;
  }
}

/** Position of the segment whose records include record number `rec`. */
function segmentOf(bases: number[], rec: number): number {
  let lo = 0;
  let hi = bases.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (bases[mid]! <= rec) lo = mid;
    else hi = mid - 1;
  }
  // Segments without ENQUEUE records share their base with the next one: take the last.
  return lo;
}
