import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  emptyRecoveryStats,
  type MessageLocation,
  type RecoveryStats,
  type RecoveryVisitor,
  type Store,
  type StoredMessage,
  type StoreListener,
  type StoreStats,
} from '../store.js';
import { StoreFailure } from '../store-failure.js';
import { DirLock } from './dir-lock.js';
import { journalKey } from './journal-key.js';
import type { SyncCallback } from './group-commit.js';
import { JournalLog, type JournalStoreOptions } from './journal-log.js';
import {
  BATCH_SIZE,
  ENQUEUE_FIXED,
  enqueueBodyStart,
  HEADER,
  PAIR,
  RecordKind,
  sealRecord,
  writeBatch,
  writeSeq,
} from './record.js';
import { EnqueueDecoder } from './record-reader.js';
import { recoverJournal } from './recovery.js';
import {
  DefEntry,
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
  private readonly decoder = new EnqueueDecoder();
  private readonly lock: DirLock;
  private readonly skipCorrupt: boolean;
  private listener: StoreListener | undefined = undefined;
  readonly canPage = true;

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
    this.bodyBudget = o.bodyBudget ?? 256 * 1024 * 1024;
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
      if (this.gc.records > 0 || this.closing !== undefined) {
        return Promise.reject(new Error('recover() must be called once, before any append'));
      }
      return Promise.resolve(emptyRecoveryStats());
    }
    this.pendingIds = undefined;
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
      this.liveMessages = r.liveMessages;
      this.writable = this.closing === undefined;
      // Segments left with nothing live go now (after their definitions move to the head).
      this.reclaimer.check();
      return Promise.resolve(r.stats);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
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
    const meta = HEADER + ENQUEUE_FIXED + n * PAIR + 8 + 3 * (ex.length + rk.length) + props.length;
    const seg = this.room(meta + bodyLength);
    const gc = this.gc;
    const start = gc.reserve(seg, inline ? meta + bodyLength : meta);
    const offset = seg.size;
    const b = gc.slab;
    let p = start + HEADER;
    b[p] = message.priority;
    b.writeDoubleLE(message.expiresAt, p + 1);
    b.writeUInt16LE(n, p + 9);
    p += ENQUEUE_FIXED;
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
    const size = sealRecord(b, start, p, RecordKind.ENQUEUE, seg.id, inline ? undefined : body);
    gc.commit(seg, p - start);
    if (!inline) gc.external(seg, body);
    if (targets === null) seg.index.add(offset, SINGLE);
    else seg.index.setFans(seg.index.add(offset, MULTI), targets);
    seg.live += n;
    seg.liveBytes += size;
    this.liveMessages += n;
    message.location = new JournalLocation(seg.id, offset, size);
  }

  settle(queueId: number, seq: number, message: StoredMessage): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    this.appendSettle(queueId, seq, message.location);
  }

  purge(queueId: number, uptoSeq: number, messages: Iterable<StoredMessage>): void {
    if (!this.writable || this.gc.failure !== undefined) this.refuse();
    const seg = this.room(HEADER + PAIR);
    const gc = this.gc;
    const p = gc.reserve(seg, HEADER + PAIR);
    gc.slab.writeUInt32LE(queueId, p + HEADER);
    writeSeq(gc.slab, p + HEADER + 4, uptoSeq);
    gc.commit(seg, sealRecord(gc.slab, p, p + HEADER + PAIR, RecordKind.PURGE, seg.id));
    for (const m of messages) this.release(queueId, m.location);
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
   * True once the record at `location` has been written to its file (by the batch's writev,
   * fsync not needed), so readPaged can serve it; false while it is still in the batch being
   * gathered or written. Throws if no segment holds the record any more.
   */
  isReadable(location: MessageLocation): boolean {
    return this.locate(location);
  }

  /**
   * Read a journaled message back: a fresh StoredMessage (body and properties are copies, not
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
    // On a full disk the last writes stay unconfirmed and no clean seal is written: the
    // next start recovers as after a crash.
    await this.gc.abandon();
    for (const s of this.segments) s.closeFd();
    this.reader.clear();
    closeSync(this.dirFd);
    this.lock.release();
  }
}

/** u16 length + UTF-8 bytes; the caller reserved 3 bytes per UTF-16 unit. */
function writeShortString(b: Buffer, p: number, s: string): number {
  const n = s.length === 0 ? 0 : b.write(s, p + 2);
  if (n > 0xffff) throw new RangeError('exchange and routing key are limited to 65535 bytes');
  b.writeUInt16LE(n, p);
  return p + 2 + n;
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
