import type { GroupCommit } from './group-commit.js';
import { FAILURE_ENTRY, HEADER, PAIR, RecordKind, sealRecord, writeSeq } from './record.js';
import { DefEntry, FailureEntry, MarkEntry, type Segment } from './segment.js';
import { encodeTagged } from './tagged-json.js';

/*
 * The records whose latest copy pins the segment holding it: definitions, delivered-
 * watermarks and failure counts here, deduplication ids in dedup-ids.ts; one class each, and
 * JournalStore owns one of each. Superseding a record unpins its old segment; before a pinned
 * segment is deleted its records are re-appended at the head (`reappend`), so they outlive the
 * segments they were written in. Apart from JournalStore because their maps, dirty lists and
 * re-appends are only theirs: the store calls in from its verbs, as a batch is sealed
 * (`flush`) and for the reclaimer (`reappend`).
 */

/** What the pinned records need from the log (JournalStore passes its own). */
export interface PinHost {
  readonly gc: GroupCommit;
  /** The segment a record of `bytes` goes to (JournalLog.room). */
  room(bytes: number): Segment;
  /** A record in `segmentId` was superseded (JournalLog.unpin). */
  unpin(segmentId: number): void;
  /** A record of `u32 count | count entries` (JournalLog.writePairs). */
  writePairs(kind: RecordKind, entries: Buffer, count: number, entry?: number): Segment;
}

/** The definitions, each appended (DEF_PUT, DEF_DELETE) as it changes. */
export class Definitions {
  /** key -> its latest DEF_PUT; recovery's replaces it. */
  byKey = new Map<string, DefEntry>();
  private readonly host: PinHost;

  constructor(host: PinHost) {
    this.host = host;
  }

  put(key: string, value: unknown): void {
    const json = encodeTagged(value);
    const keyLength = Buffer.byteLength(key);
    const payload = Buffer.allocUnsafe(4 + keyLength + Buffer.byteLength(json));
    payload.writeUInt32LE(keyLength, 0);
    payload.write(key, 4);
    payload.write(json, 4 + keyLength);
    this.append(key, new DefEntry(payload, 0));
  }

  delete(key: string): void {
    const keyLength = Buffer.byteLength(key);
    const seg = this.host.room(HEADER + 4 + keyLength);
    const gc = this.host.gc;
    const p = gc.reserve(seg, HEADER + 4 + keyLength);
    gc.slab.writeUInt32LE(keyLength, p + HEADER);
    gc.slab.write(key, p + HEADER + 4);
    const end = p + HEADER + 4 + keyLength;
    gc.commit(seg, sealRecord(gc.slab, p, end, RecordKind.DEF_DELETE, seg.id));
    const old = this.byKey.get(key);
    if (old !== undefined) {
      this.byKey.delete(key);
      this.host.unpin(old.segment);
    }
  }

  reappend(segmentId: number): void {
    for (const [key, d] of this.byKey) if (d.segment === segmentId) this.append(key, d);
  }

  private append(key: string, d: DefEntry): void {
    const size = HEADER + d.payload.length;
    const seg = this.host.room(size);
    const gc = this.host.gc;
    const p = gc.reserve(seg, size);
    d.payload.copy(gc.slab, p + HEADER);
    gc.commit(seg, sealRecord(gc.slab, p, p + size, RecordKind.DEF_PUT, seg.id));
    const old = this.byKey.get(key);
    if (old !== undefined) this.host.unpin(old.segment);
    d.segment = seg.id;
    seg.pins++;
    this.byKey.set(key, d);
  }
}

/**
 * The (queue, seq) entries of Watermarks and FailureCounts: the ones changed since the last
 * flush go, as the batch is sealed, in one record of `entry` bytes each (`put` encodes one).
 */
abstract class BatchedEntries<E extends MarkEntry | FailureEntry> {
  protected readonly host: PinHost;
  private dirty: E[] = [];
  protected abstract readonly kind: RecordKind;
  protected abstract readonly entry: number;

  constructor(host: PinHost) {
    this.host = host;
  }

  /** The entries changed since the last flush, in one record. */
  flush(): void {
    if (this.dirty.length === 0) return;
    const list = this.dirty;
    this.dirty = [];
    const entry = this.entry;
    const buf = Buffer.allocUnsafe(list.length * entry);
    let n = 0;
    for (const e of list) {
      e.dirty = false;
      if (e.removed) continue;
      this.put(buf, n * entry, e);
      n++;
    }
    if (n === 0) return;
    const seg = this.host.writePairs(this.kind, buf, n, entry);
    for (const e of list) {
      if (e.removed) continue;
      if (e.segment >= 0) this.host.unpin(e.segment);
      e.segment = seg.id;
      seg.pins++;
    }
  }

  /** `e` goes in the next flush's record, once however often it changes meanwhile. */
  protected queue(e: E): void {
    if (e.dirty) return;
    e.dirty = true;
    this.dirty.push(e);
    this.host.gc.touch();
  }

  protected abstract put(buf: Buffer, at: number, e: E): void;
}

/** Each queue's delivered-watermark, in WATERMARK records. */
export class Watermarks extends BatchedEntries<MarkEntry> {
  /** queueId -> its mark; recovery's replaces it. */
  byQueue = new Map<number, MarkEntry>();
  protected readonly kind = RecordKind.WATERMARK;
  protected readonly entry = PAIR;

  delivered(queueId: number, seq: number): void {
    let mark = this.byQueue.get(queueId);
    if (mark === undefined) this.byQueue.set(queueId, (mark = new MarkEntry(queueId, -1, -1)));
    if (seq <= mark.seq) return;
    mark.seq = seq;
    this.queue(mark);
  }

  /** A TXN record in `seg` holds the queue's mark `seq`. */
  recorded(queueId: number, seq: number, seg: Segment): void {
    let mark = this.byQueue.get(queueId);
    if (mark === undefined) this.byQueue.set(queueId, (mark = new MarkEntry(queueId, -1, -1)));
    if (seq > mark.seq) mark.seq = seq;
    // This record now holds the mark (a pending watermark record re-pins it later).
    if (mark.segment >= 0) this.host.unpin(mark.segment);
    mark.segment = seg.id;
    seg.pins++;
  }

  purged(queueId: number, uptoSeq: number): void {
    const mark = this.byQueue.get(queueId);
    if (mark !== undefined && mark.seq <= uptoSeq) {
      // Every message the watermark covered is gone: it need not be kept or re-appended.
      this.byQueue.delete(queueId);
      mark.removed = true;
      if (mark.segment >= 0) this.host.unpin(mark.segment);
    }
  }

  reappend(segmentId: number): void {
    for (const m of this.byQueue.values()) if (m.segment === segmentId) this.queue(m);
  }

  protected put(buf: Buffer, at: number, m: MarkEntry): void {
    buf.writeUInt32LE(m.queueId, at);
    writeSeq(buf, at + 4, m.seq);
  }
}

/**
 * Failure counts of the live messages that have one (queueId -> seq), in FAILURES records.
 * Each pins the segment of its latest record, re-appended before that segment goes (see
 * FailureEntry).
 */
export class FailureCounts extends BatchedEntries<FailureEntry> {
  /** Recovery's replaces it. */
  byQueue = new Map<number, Map<number, FailureEntry>>();
  protected readonly kind = RecordKind.FAILURES;
  protected readonly entry = FAILURE_ENTRY;

  /** Kept for the next FAILURES record unless not above the count kept. */
  record(queueId: number, seq: number, failures: number): void {
    const e = this.entryOf(queueId, seq, failures);
    if (e === undefined) return;
    e.count = failures;
    this.queue(e);
  }

  /** A TXN record in `seg` holds the count `failures` of (queueId, seq). */
  recorded(queueId: number, seq: number, failures: number, seg: Segment): void {
    const e = this.entryOf(queueId, seq, failures);
    if (e !== undefined) {
      // This record now holds the latest count (a pending FAILURES record re-pins later).
      e.count = failures;
      if (e.segment >= 0) this.host.unpin(e.segment);
      e.segment = seg.id;
      seg.pins++;
    }
  }

  /** The message at (queueId, seq) is gone: its count is not kept or re-appended any more. */
  forget(queueId: number, seq: number): void {
    const counts = this.byQueue.get(queueId);
    const e = counts?.get(seq);
    if (e === undefined) return;
    counts!.delete(seq);
    if (counts!.size === 0) this.byQueue.delete(queueId);
    e.removed = true;
    if (e.segment >= 0) this.host.unpin(e.segment);
  }

  purged(queueId: number, uptoSeq: number): void {
    const counts = this.byQueue.get(queueId);
    if (counts !== undefined) {
      for (const seq of counts.keys()) if (seq <= uptoSeq) this.forget(queueId, seq);
    }
  }

  reappend(segmentId: number): void {
    for (const counts of this.byQueue.values()) {
      for (const e of counts.values()) if (e.segment === segmentId) this.queue(e);
    }
  }

  protected put(buf: Buffer, at: number, e: FailureEntry): void {
    buf.writeUInt32LE(e.queueId, at);
    writeSeq(buf, at + 4, e.seq);
    buf.writeUInt32LE(e.count, at + PAIR);
  }

  /** The entry of (queueId, seq), made if missing, when `failures` is above its count. */
  private entryOf(queueId: number, seq: number, failures: number): FailureEntry | undefined {
    let counts = this.byQueue.get(queueId);
    const e = counts?.get(seq);
    if (e !== undefined) return failures > e.count ? e : undefined;
    if (failures === 0) return undefined;
    if (counts === undefined) this.byQueue.set(queueId, (counts = new Map<number, FailureEntry>()));
    const made = new FailureEntry(queueId, seq, 0, -1);
    counts.set(seq, made);
    return made;
  }
}
