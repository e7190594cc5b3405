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
import { BlockingReads } from './blocking-reads.js';
import { DedupIds } from './dedup-ids.js';
import { DirLock } from './dir-lock.js';
import { journalKey } from './journal-key.js';
import type { SyncCallback } from './group-commit.js';
import { JournalLog, type JournalStoreOptions } from './journal-log.js';
import {
  BATCH_SIZE,
  ENQUEUE_T_FIXED,
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
import { type LoadHost, PagedLoads } from './paged-loads.js';
import { Definitions, FailureCounts, type PinHost, Watermarks } from './pinned-records.js';
import { QueueIdAllocator } from './queue-ids.js';
import { recoverJournal } from './recovery.js';
import {
  DedupEntry,
  type JournalFiles,
  JournalLocation,
  listJournalFiles,
  MULTI,
  type Segment,
  SINGLE,
} from './segment.js';

export type { JournalStoreOptions } from './journal-log.js';

/** Bodies up to this size are copied into the batch slab; larger ones are written in place. */
const INLINE_BODY = 64 * 1024;

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
  /** The records that pin their segment (see pinned-records.ts, dedup-ids.ts). */
  private readonly defs: Definitions;
  private readonly marks: Watermarks;
  private readonly failureCounts: FailureCounts;
  private readonly dedups: DedupIds;
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
  private readonly queueIdAllocator: QueueIdAllocator;
  private recovered = false;
  /** What recover found, for health(). */
  private recoveryStats = emptyRecoveryStats();
  private readonly loads: PagedLoads;
  private readonly reads: BlockingReads;

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
    const pins: PinHost = {
      gc: this.gc,
      room: (bytes) => this.room(bytes),
      unpin: (segmentId) => this.unpin(segmentId),
      writePairs: (kind, entries, count, entry) => this.writePairs(kind, entries, count, entry),
    };
    this.defs = new Definitions(pins);
    this.marks = new Watermarks(pins);
    this.failureCounts = new FailureCounts(pins);
    this.dedups = new DedupIds(pins);
    this.queueIdAllocator = new QueueIdAllocator(this.defs);
    const ids = files.segments;
    this.bodyBudget = o.bodyBudget ?? DEFAULT_BODY_BUDGET;
    const readHost: LoadHost = {
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
    };
    this.loads = new PagedLoads(readHost, o.readAhead ?? 1 << 20);
    this.reads = new BlockingReads(readHost, this.reader);
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
    visitor = this.queueIdAllocator.recovering(visitor);
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
      this.defs.byKey = r.defs;
      this.marks.byQueue = r.marks;
      this.failureCounts.byQueue = r.failures;
      this.dedups.adopt(r.dedups, r.dedupOrder);
      this.liveMessages = r.liveMessages;
      this.writable = this.closing === undefined;
      this.queueIdAllocator.recovered(r.stats.maxQueueId);
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
    return this.queueIdAllocator.allocate(this.writable && this.gc.failure === undefined);
  }

  reserveQueueIds(id: number): void {
    this.queueIdAllocator.reserve(id);
  }

  putDefinition(key: string, value: unknown): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    this.defs.put(key, value);
  }

  deleteDefinition(key: string): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    this.defs.delete(key);
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
    if (this.failureCounts.byQueue.size !== 0) this.failureCounts.forget(queueId, seq);
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
    this.failureCounts.purged(queueId, uptoSeq);
    this.marks.purged(queueId, uptoSeq);
  }

  markDelivered(queueId: number, seq: number): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    this.marks.delivered(queueId, seq);
  }

  /**
   * Batched like watermarks: the counts changed during a turn go in one FAILURES record as the
   * batch is sealed. A count not above the one kept is not written again.
   */
  recordFailures(queueId: number, seq: number, failures: number): void {
    checkFailures(queueId, seq, failures);
    // Failed or closed: nothing appended now could become durable; see Store.recordFailures.
    if (!this.writable || this.gc.failure !== undefined) return;
    this.failureCounts.record(queueId, seq, failures);
  }

  forgetDedup(scope: number, id?: string): void {
    this.dedups.forget(scope, id);
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
    const firstOrder = this.dedups.order + 1;
    let order = this.dedups.order;
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
        const seq = Math.max(o.seq, this.marks.byQueue.get(o.queueId)?.seq ?? 0);
        p = encodePairs(b, p, RecordKind.WATERMARK, o.queueId, seq, id);
      }
      at.push(q + base, p - q);
    }
    sealRecord(b, start, p, RecordKind.TXN, id);
    gc.commit(seg, p - start);
    this.dedups.order = order;
    order = firstOrder;
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i]!;
      if (o.op === 'dedup') {
        this.dedups.keep(new DedupEntry(o.scope, o.id, order++, o.expiresAt, id));
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
        if (this.failureCounts.byQueue.size !== 0) this.failureCounts.forget(o.queueId, o.seq);
      } else if (o.op === 'purge') {
        this.applyPurge(o.queueId, o.uptoSeq, o.messages);
      } else if (o.op === 'failures') {
        this.failureCounts.recorded(o.queueId, o.seq, o.failures, seg);
      } else {
        this.marks.recorded(o.queueId, o.seq, seg);
      }
    }
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
    return this.reads.readBody(message);
  }

  /** Blocking paging, not part of the Store contract (the core uses `load`; see BlockingReads). */
  isReadable(location: MessageLocation): boolean {
    return this.reads.isReadable(location);
  }

  /** Blocking paging, not part of the Store contract (the core uses `load`; see BlockingReads). */
  readPaged(location: MessageLocation, queueId: number): { message: StoredMessage; seq: number } {
    return this.reads.readPaged(location, queueId);
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
    this.marks.flush();
    this.failureCounts.flush();
    this.dedups.flush();
    this.flushSettles();
  }

  reappendPinned(seg: Segment): void {
    this.defs.reappend(seg.id);
    this.marks.reappend(seg.id);
    this.failureCounts.reappend(seg.id);
    this.dedups.reappend(seg.id);
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

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
