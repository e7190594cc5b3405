import { DEFAULT_BODY_BUDGET } from '../../util/body-budget.js';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  emptyRecoveryStats,
  recoveryHealth,
  type StoreHealth,
  type Located,
  type MessageLocation,
  type PagedMessage,
  type RecoveryStats,
  type RecoveryVisitor,
  type Store,
  type StoreCapabilities,
  type StoredMessage,
  type StoreListener,
  type StoreOp,
  type StoreStats,
} from '../store.js';
import { StoreFailure } from '../store-failure.js';
import { checkFailures, checkOps } from '../store-ops.js';
import { DirLock } from './dir-lock.js';
import { journalKey } from './journal-key.js';
import type { SyncCallback } from './group-commit.js';
import { JournalLog, type JournalStoreOptions } from './journal-log.js';
import {
  BATCH_SIZE,
  DEDUP_FIXED,
  ENQUEUE_T_FIXED,
  enqueueBodyStart,
  FAILURE_ENTRY,
  HEADER,
  MAX_PAYLOAD,
  PAIR,
  RecordKind,
  sealRecord,
  writeBatch,
  writeSeq,
} from './record.js';
import { EnqueueDecoder } from './record-reader.js';
import {
  encodeDedup,
  encodeEnqueue,
  encodePairs,
  opBound,
  writeShortString,
} from './record-writer.js';
import { PagedLoads } from './paged-loads.js';
import { recoverJournal } from './recovery.js';
import {
  DedupEntry,
  DefEntry,
  FailureEntry,
  type JournalFiles,
  JournalLocation,
  listJournalFiles,
  MarkEntry,
  MULTI,
  type Segment,
  SINGLE,
} from './segment.js';
import { encodeTagged } from './tagged-json.js';

export type { JournalStoreOptions } from './journal-log.js';

/** Bodies up to this size are copied into the batch slab; larger ones are written in place. */
const INLINE_BODY = 64 * 1024;

/**
 * The definition key of the queue-id high-water mark (a NUL first: no real key starts so).
 * It is kept and re-appended like any definition but never shown to the recovery visitor.
 */
const QUEUE_IDS_KEY = '\u0000baton:queue-ids';
/** Queue ids reserved per high-water record, so a declare rarely writes one. */
const QUEUE_ID_BLOCK = 1024;
const MAX_QUEUE_ID = 0xffffffff;

/**
 * The embedded journal: one append-only log in numbered segment files, group-committed
 * (one writev and one fdatasync per batch), recovered by a CRC-checked scan, reclaimed by
 * deleting (and compacting) its oldest segments, whose files are recycled for new segments.
 * Layout: record.ts. After recovery, new records go to a new segment after the last one, so a
 * recovered segment is never appended to.
 */
export class JournalStore extends JournalLog implements Store {
  private readonly bodyBudget: number;
  /** Segment ids found at open; undefined once recovered (or when there were none). */
  private pendingIds: number[] | undefined;
  private writable: boolean;
  private closing: Promise<void> | undefined = undefined;
  private defs = new Map<string, DefEntry>();
  private marks = new Map<number, MarkEntry>();
  private dirtyMarks: MarkEntry[] = [];
  /**
   * Failure counts of the live messages that have one (queueId -> seq). Each pins the segment
   * of its latest record, re-appended before that segment goes (see FailureEntry).
   */
  private failureCounts = new Map<number, Map<number, FailureEntry>>();
  private dirtyFailures: FailureEntry[] = [];
  /** Deduplication ids the core holds (scope -> id), each pinning its latest record's segment. */
  private dedups = new Map<number, Map<string, DedupEntry>>();
  /** The same entries by the segment they pin, so deleting a segment visits only its own. */
  private dedupsBySegment = new Map<number, Set<DedupEntry>>();
  private dirtyDedups: DedupEntry[] = [];
  /** The order number of the last dedup id recorded. */
  private dedupOrder = 0;
  private readonly decoder = new EnqueueDecoder();
  private readonly lock: DirLock;
  private readonly skipCorrupt: boolean;
  private listener: StoreListener | undefined = undefined;
  /** Not part of the Store contract (see capabilities.paging); kept for tools and tests. */
  readonly canPage = true;
  readonly capabilities: StoreCapabilities = Object.freeze({
    paging: true,
    atomicCommit: true,
    durable: true,
    shared: false,
  });
  /** Highest queue id handed out, and the highest one a high-water record covers. */
  private lastQueueId = 0;
  private reservedQueueId = 0;
  private recovered = false;
  /** What recover found, for health(). */
  private recoveryStats = emptyRecoveryStats();
  private readonly loads: PagedLoads;

  private constructor(
    dir: string,
    dirFd: number,
    files: JournalFiles,
    o: JournalStoreOptions,
    lock: DirLock,
    key: number,
  ) {
    super(dir, dirFd, files, o, key);
    this.lock = lock;
    const ids = files.segments;
    this.bodyBudget = o.bodyBudget ?? DEFAULT_BODY_BUDGET;
    this.loads = new PagedLoads(
      {
        find: (loc, out) => {
          if (!this.locate(loc)) return false;
          out.seg = this.foundSeg!;
          out.offset = this.foundOffset;
          out.size = this.foundSize;
          return true;
        },
        afterSync: (cb) => this.gc.afterSync(cb),
        readDone: () => this.reclaimer.check(),
        countRead: () => this.reader.reads++,
        decoder: this.decoder,
      },
      o.readAhead ?? 1 << 20,
    );
    this.skipCorrupt = o.skipCorrupt ?? false;
    this.pendingIds = ids.length > 0 ? ids : undefined;
    this.writable = ids.length === 0;
    if (this.writable) this.segments.push(this.head);
  }

  /**
   * Open (creating if missing) the journal in `options.dir`. Call `recover` before appending.
   * Takes the directory's lock (`<dir>/LOCK`, see DirLock): rejects if another live process,
   * or another open JournalStore of this process, holds it.
   */
  static open(options: JournalStoreOptions): Promise<JournalStore> {
    let lock: DirLock | undefined;
    let dirFd = -1;
    try {
      const dir = resolve(options.dir);
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        syncDir(dirname(dir));
      }
      lock = DirLock.acquire(dir);
      dirFd = openSync(dir, 'r');
      const key = journalKey(dir);
      return Promise.resolve(
        new JournalStore(dir, dirFd, listJournalFiles(dir), options, lock, key),
      );
    } catch (err) {
      if (dirFd >= 0) closeSync(dirFd);
      lock?.release();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  get failure(): Error | undefined {
    return this.gc.failure;
  }

  get stall(): Error | undefined {
    return this.gc.stall;
  }

  listen(listener: StoreListener): void {
    this.listener = listener;
  }

  // GroupCommit hooks, passed on.
  stalled(err: Error | undefined): void {
    this.listener?.stalled(err);
  }

  failed(err: Error): void {
    this.listener?.failed(err);
  }

  recover(visitor: RecoveryVisitor): Promise<RecoveryStats> {
    const ids = this.pendingIds;
    if (ids === undefined) {
      if (this.gc.records > 0 || this.closing !== undefined || this.recovered) {
        return Promise.reject(new Error('recover() must be called once, before any append'));
      }
      this.recovered = true;
      return Promise.resolve(emptyRecoveryStats());
    }
    this.pendingIds = undefined;
    this.recovered = true;
    let idMark = 0;
    const outer = visitor;
    visitor = {
      definition: (key, value) => {
        if (key === QUEUE_IDS_KEY) idMark = typeof value === 'number' ? value : 0;
        else outer.definition(key, value);
      },
      message: (m) => outer.message(m),
      ...(outer.queue !== undefined && { queue: (q, n) => outer.queue!(q, n) }),
      ...(outer.dedup !== undefined && { dedup: (s, id, e) => outer.dedup!(s, id, e) }),
    };
    try {
      const r = recoverJournal(
        this.dir,
        ids,
        {
          bodyBudget: this.bodyBudget,
          reader: this.reader,
          decoder: this.decoder,
          skipCorrupt: this.skipCorrupt,
          proofKey: this.gc.key,
        },
        visitor,
      );
      this.segments.push(...r.segments, this.head);
      this.startHead();
      this.defs = r.defs;
      this.marks = r.marks;
      this.failureCounts = r.failures;
      this.dedups = r.dedups;
      for (const ids of this.dedups.values()) for (const e of ids.values()) this.indexDedup(e);
      this.dedupOrder = r.dedupOrder;
      this.liveMessages = r.liveMessages;
      this.writable = this.closing === undefined;
      this.lastQueueId = this.reservedQueueId = Math.max(idMark, r.stats.maxQueueId);
      // Segments left with nothing live go now (after their definitions move to the head).
      this.reclaimer.check();
      this.recoveryStats = r.stats;
      return Promise.resolve(r.stats);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  allocateQueueId(): number {
    if (!this.recovered) throw new Error('call recover() before allocating queue ids');
    if (this.lastQueueId >= MAX_QUEUE_ID) throw new RangeError('queue ids are exhausted');
    const id = ++this.lastQueueId;
    // Persist a high-water mark ahead of the ids handed out: a durable queue's definition goes
    // after it in the log, so no restart can hand its id out again. A failed or closed
    // journal only hands out ids for transient queues, which need no such mark.
    if (id > this.reservedQueueId && this.writable && this.gc.failure === undefined) {
      this.reservedQueueId = Math.min(MAX_QUEUE_ID, id + QUEUE_ID_BLOCK - 1);
      this.putDefinition(QUEUE_IDS_KEY, this.reservedQueueId);
    }
    return id;
  }

  reserveQueueIds(id: number): void {
    if (id > this.lastQueueId) this.lastQueueId = id;
  }

  putDefinition(key: string, value: unknown): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    const json = encodeTagged(value);
    const keyLength = Buffer.byteLength(key);
    const payload = Buffer.allocUnsafe(4 + keyLength + Buffer.byteLength(json));
    payload.writeUInt32LE(keyLength, 0);
    payload.write(key, 4);
    payload.write(json, 4 + keyLength);
    this.appendDefinition(key, new DefEntry(payload, 0));
  }

  deleteDefinition(key: string): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    const keyLength = Buffer.byteLength(key);
    const seg = this.room(HEADER + 4 + keyLength);
    const gc = this.gc;
    const p = gc.reserve(seg, HEADER + 4 + keyLength);
    gc.slab.writeUInt32LE(keyLength, p + HEADER);
    gc.slab.write(key, p + HEADER + 4);
    const end = p + HEADER + 4 + keyLength;
    gc.commit(seg, sealRecord(gc.slab, p, end, RecordKind.DEF_DELETE, seg.id));
    const old = this.defs.get(key);
    if (old !== undefined) {
      this.defs.delete(key);
      this.unpin(old.segment);
    }
  }

  enqueue(message: StoredMessage, queueIds: readonly number[], seqs: readonly number[]): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    const n = queueIds.length;
    if (n !== seqs.length || n === 0 || n > 0xffff) {
      throw new RangeError(`enqueue needs 1 to 65535 queue ids with one seq each, got ${n}`);
    }
    const body = message.body;
    if (body === undefined) throw new TypeError('enqueue needs the message body');
    const props = message.properties;
    const ex = message.exchange;
    const rk = message.routingKey;
    const bodyLength = body.length;
    const inline = bodyLength <= INLINE_BODY;
    // Upper bound (3 UTF-8 bytes per UTF-16 unit); commit() takes the bytes actually used.
    const meta =
      HEADER + ENQUEUE_T_FIXED + n * PAIR + 8 + 3 * (ex.length + rk.length) + props.length;
    const seg = this.room(meta + bodyLength);
    const gc = this.gc;
    const start = gc.reserve(seg, inline ? meta + bodyLength : meta);
    const offset = seg.size;
    const b = gc.slab;
    let p = start + HEADER;
    b[p] = message.priority;
    b.writeDoubleLE(message.expiresAt, p + 1);
    b.writeDoubleLE(message.timestamp, p + 9);
    b.writeUInt16LE(n, p + 17);
    p += ENQUEUE_T_FIXED;
    let targets: number[] | null = null;
    if (n > 1) targets = [];
    for (let i = 0; i < n; i++) {
      const q = queueIds[i]!;
      const s = seqs[i]!;
      b.writeUInt32LE(q, p);
      writeSeq(b, p + 4, s);
      p += PAIR;
      if (targets !== null) targets.push(q, s);
    }
    p = writeShortString(b, p, ex);
    p = writeShortString(b, p, rk);
    b.writeUInt32LE(props.length, p);
    b.set(props, p + 4);
    p += 4 + props.length;
    if (inline) {
      b.set(body, p);
      p += bodyLength;
    }
    const size = sealRecord(b, start, p, RecordKind.ENQUEUE_T, seg.id, inline ? undefined : body);
    gc.commit(seg, p - start);
    if (!inline) gc.external(seg, body);
    if (targets === null) seg.index.add(offset, SINGLE);
    else seg.index.setFans(seg.index.add(offset, MULTI), targets);
    seg.live += n;
    seg.liveBytes += size;
    this.liveMessages += n;
    message.location = new JournalLocation(seg.id, offset, size);
  }

  settle(queueId: number, seq: number, message: Located): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    this.appendSettle(queueId, seq, message.location);
    if (this.failureCounts.size !== 0) this.forgetFailures(queueId, seq);
  }

  purge(queueId: number, uptoSeq: number, messages: Iterable<Located>): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    const seg = this.room(HEADER + PAIR);
    const gc = this.gc;
    const p = gc.reserve(seg, HEADER + PAIR);
    gc.slab.writeUInt32LE(queueId, p + HEADER);
    writeSeq(gc.slab, p + HEADER + 4, uptoSeq);
    gc.commit(seg, sealRecord(gc.slab, p, p + HEADER + PAIR, RecordKind.PURGE, seg.id));
    this.applyPurge(queueId, uptoSeq, messages);
  }

  private applyPurge(queueId: number, uptoSeq: number, messages: Iterable<Located>): void {
    for (const m of messages) this.release(queueId, m.location);
    const counts = this.failureCounts.get(queueId);
    if (counts !== undefined) {
      for (const seq of counts.keys()) if (seq <= uptoSeq) this.forgetFailures(queueId, seq);
    }
    const mark = this.marks.get(queueId);
    if (mark !== undefined && mark.seq <= uptoSeq) {
      // Every message the watermark covered is gone: it need not be kept or re-appended.
      this.marks.delete(queueId);
      mark.removed = true;
      if (mark.segment >= 0) this.unpin(mark.segment);
    }
  }

  markDelivered(queueId: number, seq: number): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    let mark = this.marks.get(queueId);
    if (mark === undefined) this.marks.set(queueId, (mark = new MarkEntry(queueId, -1, -1)));
    if (seq <= mark.seq) return;
    mark.seq = seq;
    if (!mark.dirty) {
      mark.dirty = true;
      this.dirtyMarks.push(mark);
      this.gc.touch();
    }
  }

  /**
   * Batched like watermarks: the counts changed during a turn go in one FAILURES record as the
   * batch is sealed. A count not above the one kept is not written again.
   */
  recordFailures(queueId: number, seq: number, failures: number): void {
    checkFailures(queueId, seq, failures);
    // Failed or closed: nothing appended now could become durable; see Store.recordFailures.
    if (!this.writable || this.gc.failure !== undefined) return;
    const e = this.failureEntry(queueId, seq, failures);
    if (e === undefined) return;
    e.count = failures;
    if (!e.dirty) {
      e.dirty = true;
      this.dirtyFailures.push(e);
      this.gc.touch();
    }
  }

  /** The entry of (queueId, seq), made if missing, when `failures` is above its count. */
  private failureEntry(queueId: number, seq: number, failures: number): FailureEntry | undefined {
    let counts = this.failureCounts.get(queueId);
    const e = counts?.get(seq);
    if (e !== undefined) return failures > e.count ? e : undefined;
    if (failures === 0) return undefined;
    if (counts === undefined)
      this.failureCounts.set(queueId, (counts = new Map<number, FailureEntry>()));
    const made = new FailureEntry(queueId, seq, 0, -1);
    counts.set(seq, made);
    return made;
  }

  /** The message at (queueId, seq) is gone: its count is not kept or re-appended any more. */
  private forgetFailures(queueId: number, seq: number): void {
    const counts = this.failureCounts.get(queueId);
    const e = counts?.get(seq);
    if (e === undefined) return;
    counts!.delete(seq);
    if (counts!.size === 0) this.failureCounts.delete(queueId);
    e.removed = true;
    if (e.segment >= 0) this.unpin(e.segment);
  }

  forgetDedup(scope: number, id?: string): void {
    const ids = this.dedups.get(scope);
    if (ids === undefined) return;
    if (id === undefined) {
      this.dedups.delete(scope);
      for (const e of ids.values()) this.dropDedup(e);
      return;
    }
    const e = ids.get(id);
    if (e === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.dedups.delete(scope);
    this.dropDedup(e);
  }

  private dropDedup(e: DedupEntry): void {
    e.removed = true;
    this.unindexDedup(e);
    if (e.segment >= 0) this.unpin(e.segment);
  }

  private indexDedup(e: DedupEntry): void {
    if (e.segment < 0) return;
    let set = this.dedupsBySegment.get(e.segment);
    if (set === undefined) this.dedupsBySegment.set(e.segment, (set = new Set()));
    set.add(e);
  }

  private unindexDedup(e: DedupEntry): void {
    const set = this.dedupsBySegment.get(e.segment);
    if (set === undefined) return;
    set.delete(e);
    if (set.size === 0) this.dedupsBySegment.delete(e.segment);
  }

  /**
   * One TXN record holding a whole record per op (layout in record.ts), so recovery applies
   * all of them or none. Bodies are copied into the record. Validated before anything is
   * encoded; the in-memory effects follow only once the record is in the batch.
   */
  commit(ops: readonly StoreOp[]): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    checkOps(ops);
    if (ops.length === 0) return;
    let max = HEADER;
    for (const o of ops) max += opBound(o);
    if (max - HEADER > MAX_PAYLOAD) throw new RangeError(`a commit of ${max} bytes is too large`);
    const seg = this.room(max);
    const gc = this.gc;
    const start = gc.reserve(seg, max);
    const base = seg.size - start;
    const b = gc.slab;
    const id = seg.id;
    const at: number[] = [];
    const firstOrder = this.dedupOrder + 1;
    let order = this.dedupOrder;
    let p = start + HEADER;
    for (const o of ops) {
      const q = p;
      if (o.op === 'dedup') {
        b.writeUInt32LE(1, p + HEADER);
        const end = encodeDedup(b, p + HEADER + 4, o.scope, ++order, o.expiresAt, o.id);
        p += sealRecord(b, p, end, RecordKind.DEDUP, id);
      } else if (o.op === 'enqueue') {
        p = encodeEnqueue(b, p, o.message, o.queueIds, o.seqs, id);
      } else if (o.op === 'settle') {
        p = encodePairs(b, p, RecordKind.SETTLE, o.queueId, o.seq, id);
      } else if (o.op === 'purge') {
        b.writeUInt32LE(o.queueId, p + HEADER);
        writeSeq(b, p + HEADER + 4, o.uptoSeq);
        p += sealRecord(b, p, p + HEADER + PAIR, RecordKind.PURGE, id);
      } else if (o.op === 'failures') {
        b.writeUInt32LE(1, p + HEADER);
        b.writeUInt32LE(o.queueId, p + HEADER + 4);
        writeSeq(b, p + HEADER + 8, o.seq);
        b.writeUInt32LE(o.failures, p + HEADER + 4 + PAIR);
        p += sealRecord(b, p, p + HEADER + 4 + FAILURE_ENTRY, RecordKind.FAILURES, id);
      } else {
        // Never lower a watermark: recovery keeps the last one it sees.
        const seq = Math.max(o.seq, this.marks.get(o.queueId)?.seq ?? 0);
        p = encodePairs(b, p, RecordKind.WATERMARK, o.queueId, seq, id);
      }
      at.push(q + base, p - q);
    }
    sealRecord(b, start, p, RecordKind.TXN, id);
    gc.commit(seg, p - start);
    this.dedupOrder = order;
    order = firstOrder;
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i]!;
      if (o.op === 'dedup') {
        this.keepDedup(new DedupEntry(o.scope, o.id, order++, o.expiresAt, id));
        seg.pins++;
      } else if (o.op === 'enqueue') {
        const offset = at[i * 2]!;
        const size = at[i * 2 + 1]!;
        const n = o.queueIds.length;
        if (n === 1) seg.index.add(offset, SINGLE);
        else {
          const targets: number[] = [];
          for (let k = 0; k < n; k++) targets.push(o.queueIds[k]!, o.seqs[k]!);
          seg.index.setFans(seg.index.add(offset, MULTI), targets);
        }
        seg.live += n;
        seg.liveBytes += size;
        this.liveMessages += n;
        o.message.location = new JournalLocation(id, offset, size);
      } else if (o.op === 'settle') {
        this.release(o.queueId, o.message.location);
        if (this.failureCounts.size !== 0) this.forgetFailures(o.queueId, o.seq);
      } else if (o.op === 'purge') {
        this.applyPurge(o.queueId, o.uptoSeq, o.messages);
      } else if (o.op === 'failures') {
        const e = this.failureEntry(o.queueId, o.seq, o.failures);
        if (e !== undefined) {
          // This record now holds the latest count (a pending FAILURES record re-pins later).
          e.count = o.failures;
          if (e.segment >= 0) this.unpin(e.segment);
          e.segment = id;
          seg.pins++;
        }
      } else {
        let mark = this.marks.get(o.queueId);
        if (mark === undefined)
          this.marks.set(o.queueId, (mark = new MarkEntry(o.queueId, -1, -1)));
        if (o.seq > mark.seq) mark.seq = o.seq;
        // This record now holds the mark (a pending watermark record re-pins it later).
        if (mark.segment >= 0) this.unpin(mark.segment);
        mark.segment = id;
        seg.pins++;
      }
    }
  }

  /** `e` is the scope's newest record of its id: it replaces any older entry. */
  private keepDedup(e: DedupEntry): void {
    let ids = this.dedups.get(e.scope);
    if (ids === undefined) this.dedups.set(e.scope, (ids = new Map<string, DedupEntry>()));
    const old = ids.get(e.id);
    if (old !== undefined) {
      ids.delete(e.id);
      this.dropDedup(old);
    }
    ids.set(e.id, e);
    this.indexDedup(e);
  }

  /** Read paged messages back asynchronously (see PagedLoads). */
  load(locations: readonly MessageLocation[], queueId: number): Promise<(PagedMessage | Error)[]> {
    if (this.gc.failure !== undefined) return Promise.reject(this.gc.failure);
    if (this.closing !== undefined)
      return Promise.reject(new StoreFailure('the journal is closed'));
    return this.loads.load(locations, queueId);
  }

  /** The body: the one in memory if there is one, else read back from the journal (a copy). */
  readBody(message: StoredMessage): Buffer {
    if (message.body !== undefined) return message.body;
    const loc = message.location;
    if (loc === undefined)
      throw new Error('readBody: the message was never journaled and has no body');
    if (!this.locate(loc)) throw notWritten('readBody', loc);
    const size = this.foundSize;
    const rec = this.reader.enqueue(this.foundSeg!, this.foundOffset, size);
    const at = this.reader.at;
    return Buffer.from(rec.subarray(enqueueBodyStart(rec, at), at + size));
  }

  /**
   * Blocking paging, not part of the Store contract (the core uses `load`); for tools, tests
   * and the journal benchmark. True once the record at `location` has been written to its file (by the batch's writev,
   * fsync not needed), so readPaged can serve it; false while it is still in the batch being
   * gathered or written. Throws if no segment holds the record any more.
   */
  isReadable(location: MessageLocation): boolean {
    return this.locate(location);
  }

  /**
   * Blocking paging, not part of the Store contract (the core uses `load`). Read a journaled
   * message back: a fresh StoredMessage (body and properties are copies, not
   * views of the read-ahead window; `location` is a new object for the newest written copy of
   * the record) and the seq its record gives `queueId`. Sequential calls over consecutive
   * records are served from a read-ahead window (see RecordReader). Throws StoreCorruptError if
   * the bytes there fail their CRC, and an Error if the record is not written yet (check
   * isReadable) or does not name `queueId`.
   */
  readPaged(location: MessageLocation, queueId: number): { message: StoredMessage; seq: number } {
    if (!this.locate(location)) throw notWritten('readPaged', location);
    const seg = this.foundSeg!;
    const offset = this.foundOffset;
    const size = this.foundSize;
    const rec = this.reader.enqueue(seg, offset, size);
    const at = this.reader.at;
    const seq = this.decoder.seqOf(rec, at, queueId);
    if (seq < 0) {
      throw new Error(
        `readPaged: queue ${queueId} is not among the queues of the message record at ` +
          `${seg.path}:${offset}`,
      );
    }
    const message = this.decoder.decode(rec, at, size, new JournalLocation(seg.id, offset, size));
    return { message, seq };
  }

  afterSync(cb: SyncCallback): void {
    this.gc.afterSync(cb);
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  health(): StoreHealth {
    let bytes = 0;
    for (const s of this.segments) bytes += s.size;
    const st = this.stats();
    return {
      kind: 'journal',
      segments: st.segments,
      bytes,
      spareFiles: this.spareCount,
      liveMessages: st.liveMessages,
      appendedRecords: st.appendedRecords,
      bytesWritten: st.bytesWritten,
      syncs: st.syncs,
      compactions: st.compactions,
      deletedSegments: st.deletedSegments,
      writeRetries: st.writeRetries,
      fsyncSeconds: this.gc.fsyncSeconds.snapshot(),
      commitBatchRecords: this.gc.batchRecords.snapshot(),
      recovery: recoveryHealth(this.recoveryStats),
      failure: this.gc.failure?.message,
      stall: this.gc.stall?.message,
    };
  }

  stats(): StoreStats {
    return {
      appendedRecords: this.gc.records,
      syncs: this.gc.syncs,
      bytesWritten: this.gc.bytesWritten,
      segments: this.segments.length,
      liveMessages: this.liveMessages,
      compactions: this.reclaimer.compactions,
      deletedSegments: this.reclaimer.deletedSegments,
      writeRetries: this.gc.retries,
    };
  }

  // ---- JournalLog hooks ----------------------------------------------------------------

  /** Batched records go last in the batch, after the enqueues they may settle. */
  beforeSeal(): void {
    if (this.dirtyMarks.length > 0) this.writeMarks();
    if (this.dirtyFailures.length > 0) this.writeFailures();
    if (this.dirtyDedups.length > 0) this.writeDedups();
    this.flushSettles();
  }

  reappendPinned(seg: Segment): void {
    for (const [key, d] of this.defs) if (d.segment === seg.id) this.appendDefinition(key, d);
    for (const m of this.marks.values()) {
      if (m.segment === seg.id && !m.dirty) {
        m.dirty = true;
        this.dirtyMarks.push(m);
        this.gc.touch();
      }
    }
    for (const counts of this.failureCounts.values()) {
      for (const e of counts.values()) {
        if (e.segment === seg.id && !e.dirty) {
          e.dirty = true;
          this.dirtyFailures.push(e);
          this.gc.touch();
        }
      }
    }
    const pinned = this.dedupsBySegment.get(seg.id);
    if (pinned === undefined) return;
    const now = Date.now();
    for (const e of [...pinned]) {
      if (e.dirty) continue;
      // An expired id need not outlive its segment: forget it instead of copying it.
      if (e.expired(now)) this.forgetDedup(e.scope, e.id);
      else {
        e.dirty = true;
        this.dirtyDedups.push(e);
        this.gc.touch();
      }
    }
  }

  // ---- internals ----------------------------------------------------------------------

  /**
   * Create the new head segment now, with a first record, synced with its directory entry:
   * from here on a crash leaves an unsealed last segment, so it can never pass for the clean
   * close that recovery may just have found (deliveries start right away).
   */
  private startHead(): void {
    const h = this.head;
    const fd = openSync(h.path, 'wx+', 0o644);
    h.fd = fd;
    const b = Buffer.allocUnsafe(BATCH_SIZE);
    writeBatch(b, 0, h.id, 0, BATCH_SIZE, this.gc.key);
    writeSync(fd, b, 0, BATCH_SIZE, 0);
    fsyncSync(fd);
    fsyncSync(this.dirFd);
    h.size = h.written = h.synced = BATCH_SIZE;
  }

  private refuse(): never {
    if (this.gc.failure !== undefined) throw this.gc.failure;
    if (this.closing !== undefined) throw new StoreFailure('the journal is closed');
    throw new StoreFailure('call recover() before appending to an existing journal');
  }

  private appendDefinition(key: string, d: DefEntry): void {
    const size = HEADER + d.payload.length;
    const seg = this.room(size);
    const p = this.gc.reserve(seg, size);
    d.payload.copy(this.gc.slab, p + HEADER);
    this.gc.commit(seg, sealRecord(this.gc.slab, p, p + size, RecordKind.DEF_PUT, seg.id));
    const old = this.defs.get(key);
    if (old !== undefined) this.unpin(old.segment);
    d.segment = seg.id;
    seg.pins++;
    this.defs.set(key, d);
  }

  private writeMarks(): void {
    const marks = this.dirtyMarks;
    this.dirtyMarks = [];
    const buf = Buffer.allocUnsafe(marks.length * PAIR);
    let n = 0;
    for (const m of marks) {
      m.dirty = false;
      if (m.removed) continue;
      buf.writeUInt32LE(m.queueId, n * PAIR);
      writeSeq(buf, n * PAIR + 4, m.seq);
      n++;
    }
    if (n === 0) return;
    const seg = this.writePairs(RecordKind.WATERMARK, buf, n);
    for (const m of marks) {
      if (m.removed) continue;
      if (m.segment >= 0) this.unpin(m.segment);
      m.segment = seg.id;
      seg.pins++;
    }
  }

  private writeFailures(): void {
    const list = this.dirtyFailures;
    this.dirtyFailures = [];
    const buf = Buffer.allocUnsafe(list.length * FAILURE_ENTRY);
    let n = 0;
    for (const e of list) {
      e.dirty = false;
      if (e.removed) continue;
      const at = n * FAILURE_ENTRY;
      buf.writeUInt32LE(e.queueId, at);
      writeSeq(buf, at + 4, e.seq);
      buf.writeUInt32LE(e.count, at + PAIR);
      n++;
    }
    if (n === 0) return;
    const seg = this.writePairs(RecordKind.FAILURES, buf, n, FAILURE_ENTRY);
    for (const e of list) {
      if (e.removed) continue;
      if (e.segment >= 0) this.unpin(e.segment);
      e.segment = seg.id;
      seg.pins++;
    }
  }

  /** The dedup entries re-appended this flush, in one DEDUP record (their order kept). */
  private writeDedups(): void {
    const list = this.dirtyDedups;
    this.dirtyDedups = [];
    let bytes = 0;
    for (const e of list) {
      e.dirty = false;
      if (!e.removed) bytes += DEDUP_FIXED + 3 * e.id.length;
    }
    if (bytes === 0) return;
    const seg = this.room(HEADER + 4 + bytes);
    const p = this.gc.reserve(seg, HEADER + 4 + bytes);
    const b = this.gc.slab;
    let q = p + HEADER + 4;
    let n = 0;
    for (const e of list) {
      if (e.removed) continue;
      q = encodeDedup(b, q, e.scope, e.order, e.expiresAt, e.id);
      n++;
    }
    b.writeUInt32LE(n, p + HEADER);
    this.gc.commit(seg, sealRecord(b, p, q, RecordKind.DEDUP, seg.id));
    for (const e of list) {
      if (e.removed) continue;
      this.unindexDedup(e);
      if (e.segment >= 0) this.unpin(e.segment);
      e.segment = seg.id;
      this.indexDedup(e);
      seg.pins++;
    }
  }

  private async shutdown(): Promise<void> {
    this.writable = false;
    await this.reclaimer.stop();
    if (this.pendingIds === undefined && this.gc.failure === undefined) {
      // Batched settles and watermarks first, and durable (with their proof) before the
      // clean SEAL goes in a batch of its own: recovery ignores whatever follows a SEAL.
      this.beforeSeal();
      if ((await this.gc.drained()) && this.head.size > 0 && !this.head.sealed) {
        this.seal(this.head, true);
        await this.gc.drained();
      }
    }
    await this.loads.idle();
    // On a full disk the last writes stay unconfirmed and no clean seal is written: the
    // next start recovers as after a crash.
    await this.gc.abandon();
    for (const s of this.segments) s.closeFd();
    this.reader.clear();
    closeSync(this.dirFd);
    this.lock.release();
  }
}

function notWritten(verb: string, l: MessageLocation): Error {
  return new Error(
    `${verb}: the record at ${l.segment}:${l.offset} is not written yet (wait for isReadable)`,
  );
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
