import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { JournalDamage, RecoveryStats, RecoveryVisitor, StoredMessage } from '../store.js';
import { StoreCorruptError } from '../store-failure.js';
import {
  checkRecord,
  DEDUP_FIXED,
  describeCheck,
  enqueueFixed,
  FAILURE_ENTRY,
  findBatch,
  HEADER,
  MAX_KIND,
  PAIR,
  readSeq,
  RecordKind,
  SEAL_SIZE,
  sealIsClean,
  TORN,
  writeSeal,
} from './record.js';
import type { EnqueueDecoder, RecordReader } from './record-reader.js';
import { QueueScan } from './queue-scan.js';
import {
  DedupEntry,
  DefEntry,
  FailureEntry,
  isLive,
  JournalLocation,
  MarkEntry,
  MULTI,
  SCANNED_MULTI,
  SCANNED_SINGLE,
  Segment,
  SINGLE,
} from './segment.js';
import { decodeTagged } from './tagged-json.js';

export interface RecoveredJournal {
  segments: Segment[];
  defs: Map<string, DefEntry>;
  marks: Map<number, MarkEntry>;
  /** Failure counts of live messages that have one (queueId -> seq), their segments pinned. */
  failures: Map<number, Map<number, FailureEntry>>;
  /** Unexpired deduplication ids (scope -> id), their segments pinned. */
  dedups: Map<number, Map<string, DedupEntry>>;
  /** The highest dedup order number found (new ids continue above it). */
  dedupOrder: number;
  liveMessages: number;
  /** The last segment ended with the seal of a clean close. */
  clean: boolean;
  stats: RecoveryStats;
}

const EMPTY = Buffer.alloc(0);
/** Bytes of a segment read and scanned at a time. */
const SCAN_CHUNK = 8 << 20;

/** How recovery reads records back and how many body bytes it may hand over. */
export interface ReplayOptions {
  bodyBudget: number;
  reader: RecordReader;
  decoder: EnqueueDecoder;
  /** Skip corrupt records (reported in stats.damage) instead of refusing to start. */
  skipCorrupt?: boolean;
  /** The journal's secret, to tell real BATCH records from look-alikes. */
  proofKey: number;
}

/**
 * Scan every segment in order, check each record's CRC and rebuild definitions, queues,
 * watermarks and live counts, then replay them into the visitor: definitions first, then each
 * queue's messages in ascending seq. A segment ends at its SEAL record or at the end of the
 * file. What damage means is SegmentScan's business: only the torn tail of the newest,
 * unconfirmed batch is cut; anything else refuses to start (or, with skipCorrupt, is skipped
 * and reported).
 *
 * Redelivered flags: a clean close ends the last segment with a clean SEAL after flushing
 * every delivered-watermark, so then `seq <= watermark` is exact. After any other stop the
 * newest watermark updates may not have reached the disk although their deliveries went out,
 * so every recovered message is flagged: it may have been delivered, which is what the flag
 * promises.
 */
export function recoverJournal(
  dir: string,
  ids: readonly number[],
  options: ReplayOptions,
  visitor: RecoveryVisitor,
): RecoveredJournal {
  const t0 = performance.now();
  const scan = new Scanner();
  const segments: Segment[] = [];
  const damage: JournalDamage[] = [];
  let clean = false;
  const reader = new SegmentScan(scan, options.skipCorrupt === true, damage, options.proofKey);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (i > 0 && id !== ids[i - 1]! + 1) {
      throw new StoreCorruptError(
        new Segment(dir, ids[i - 1]! + 1).path,
        0,
        'this segment is missing between two present ones',
      );
    }
    const seg = new Segment(dir, id, true);
    const last = i === ids.length - 1;
    const end = reader.run(seg, last);
    // Only a seal close() wrote says the watermarks are exact.
    if (last) clean = scan.sealed && scan.clean;
    seg.size = seg.written = seg.synced = end;
    scan.endSegment();
    segments.push(seg);
  }
  reader.release();
  if (damage.some((d) => d.kind === 'torn')) pruneSideFiles(dir, '.torn', KEEP_TORN_FILES);
  const first = ids[0] ?? 0;
  for (const d of scan.defs.values()) segments[d.segment - first]!.pins++;
  for (const m of scan.marks.values()) segments[m.segment - first]!.pins++;
  for (const [key, d] of scan.defs) visitor.definition(key, decodeDefinition(d.payload));
  const failures = new Map<number, Map<number, FailureEntry>>();
  const liveMessages = scan.replay(segments, clean, options, visitor, failures);
  for (const counts of failures.values())
    for (const e of counts.values()) segments[e.segment - first]!.pins++;
  const dedups = scan.liveDedups(Date.now());
  for (const e of dedups) {
    segments[e.segment - first]!.pins++;
    visitor.dedup?.(e.scope, e.id, e.expiresAt);
  }
  // Only live records stay indexed: settles look them up, compaction copies them.
  for (const seg of segments) seg.index.compact(isLive);
  const queueSeqs = new Map<number, number>();
  for (const [queueId, q] of scan.queues) if (q.maxSeq >= 0) queueSeqs.set(queueId, q.maxSeq);
  const sum = (kind: JournalDamage['kind']): number =>
    damage.reduce((n, d) => n + (d.kind === kind ? d.bytes : 0), 0);
  return {
    segments,
    defs: scan.defs,
    marks: scan.marks,
    failures,
    dedups: scan.dedups,
    dedupOrder: scan.dedupOrder,
    liveMessages,
    clean,
    stats: {
      segments: ids.length,
      records: scan.records,
      messages: liveMessages,
      truncatedBytes: sum('torn'),
      skippedBytes: sum('corrupt'),
      skippedRanges: damage.filter((d) => d.kind === 'corrupt').length,
      damage,
      clean,
      maxQueueId: scan.maxQueueId,
      queueSeqs,
      ms: performance.now() - t0,
    },
  };
}

/** Torn-tail side files kept (the newest); older ones are deleted at recovery. */
const KEEP_TORN_FILES = 8;
/** At most this much of a torn tail is copied into its side file. */
const TORN_SIDE_MAX = 1 << 20;
/** The skip-corrupt search tries every offset for a record start over at most this many bytes. */
const RESYNC_MAX = 4 << 20;

/**
 * Reads one segment's records into the Scanner, a chunk at a time, and decides what damage
 * means. In a sealed (older) segment any damage is corruption. In the newest segment, damage
 * followed by a valid BATCH record is corruption too (those bytes were synced, maybe
 * confirmed); damage with none after it is the torn tail of the last, unconfirmed batch: its
 * first bytes are copied to a side file and a SEAL is written where it starts, so the rest
 * stays on disk but is never read again. Corruption refuses to start (StoreCorruptError)
 * unless `skipCorrupt`: then exactly the bad bytes are skipped, copied to a side file and
 * reported.
 */
class SegmentScan {
  private buf = Buffer.allocUnsafeSlow(SCAN_CHUNK);
  private readonly scan: Scanner;
  private readonly skipCorrupt: boolean;
  private readonly damage: JournalDamage[];
  private readonly key: number;

  constructor(scan: Scanner, skipCorrupt: boolean, damage: JournalDamage[], key: number) {
    this.scan = scan;
    this.skipCorrupt = skipCorrupt;
    this.damage = damage;
    this.key = key;
  }

  release(): void {
    this.buf = EMPTY;
  }

  /** Scan `seg`; returns where its valid bytes end. */
  run(seg: Segment, last: boolean): number {
    const fd = openSync(seg.path, last ? 'r+' : 'r');
    try {
      const size = fstatSync(fd).size;
      let from = 0;
      // What the newest segment holds may still be only in the page cache (a crash between a
      // write and its fdatasync): make it durable before anything builds on it, or a power
      // cut later could tear bytes this start took as whole, inside a segment no longer last.
      if (last) fsyncSync(fd);
      for (;;) {
        const end = this.scanFrom(fd, seg, from, size);
        // Past a SEAL there may be a recycled file's old records: not ours, not damage.
        if (this.scan.sealed || end >= size) return end;
        const code = this.scan.code;
        const rest = readRange(fd, end, size);
        const proof = findBatch(rest, 1, rest.length, seg.id, end, this.key);
        if (last && proof < 0) {
          this.cutTornTail(fd, seg, end, rest, code);
          return end;
        }
        const resume = resyncAt(rest, end, seg.id, proof);
        const to = resume < 0 ? size : resume;
        const bad = rest.subarray(0, to - end);
        const side = `${seg.path}.${end}.corrupt`;
        // A side file holding exactly these bytes records an earlier, deliberate skip: later
        // starts need not be told again (the segment itself is never rewritten).
        const known = sameBytes(side, bad);
        if (!this.skipCorrupt && !known)
          throw new StoreCorruptError(seg.path, end, describeCheck(code));
        if (!known) writeSideFile(side, bad);
        this.damage.push({
          kind: 'corrupt',
          file: seg.path,
          offset: end,
          bytes: to - end,
          sideFile: side,
          known,
        });
        if (resume < 0) return end;
        from = resume;
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Apply the records of `fd` from `from` on until damage, a SEAL or the end of the file;
   * returns where they end. A record cut by a chunk's end is read again with the next chunk
   * (which grows for a record larger than a chunk).
   */
  private scanFrom(fd: number, seg: Segment, from: number, size: number): number {
    const scan = this.scan;
    let buf = this.buf;
    let base = from;
    let filled = 0;
    let end: number;
    for (;;) {
      const want = Math.min(buf.length - filled, size - base - filled);
      let n = 0;
      while (n < want) {
        const r = readSync(fd, buf, filled + n, want - n, base + filled + n);
        if (r === 0) break;
        n += r;
      }
      filled += n;
      const eof = base + filled >= size || n < want;
      const stop = scan.segment(buf, filled, seg, base);
      end = base + stop;
      if (scan.sealed || eof || (scan.code !== 0 && scan.code !== TORN)) break;
      // The chunk ended (maybe inside a record): read on, unless the record would run past
      // the end of the file.
      const need = filled - stop >= 4 ? HEADER + buf.readUInt32LE(stop) : HEADER;
      if (end + need > size) {
        scan.code = TORN;
        break;
      }
      buf.copy(buf, 0, stop, filled);
      base = end;
      filled -= stop;
      if (need > buf.length) {
        const bigger = Buffer.allocUnsafeSlow(need);
        buf.copy(bigger, 0, 0, filled);
        this.buf = buf = bigger;
      }
    }
    return end;
  }

  private cutTornTail(fd: number, seg: Segment, end: number, rest: Buffer, code: number): void {
    const evidence = rest.subarray(0, Math.min(rest.length, TORN_SIDE_MAX));
    let side: string | undefined;
    if (!isZero(evidence)) writeSideFile((side = `${seg.path}.${end}.torn`), evidence);
    // A SEAL at the cut: the bytes stay where they are, and are never read as records.
    const seal = Buffer.allocUnsafe(SEAL_SIZE);
    writeSeal(seal, 0, seg.id, false);
    writeSync(fd, seal, 0, SEAL_SIZE, end);
    fsyncSync(fd);
    this.damage.push({
      kind: 'torn',
      file: seg.path,
      offset: end,
      bytes: rest.length,
      reason: describeCheck(code),
      ...(side !== undefined && { sideFile: side }),
    });
  }
}

/** The bytes of `fd` in [from, to). */
function readRange(fd: number, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let got = 0;
  while (got < out.length) {
    const n = readSync(fd, out, got, out.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

/**
 * Where valid records start again after the damage at file offset `at` (`rest[0]`): right
 * after the damaged record if its length word is intact, else the first offset holding a
 * valid record, else the proven batch start `proof` (or -1: nothing valid follows).
 */
function resyncAt(rest: Buffer, at: number, seed: number, proof: number): number {
  if (rest.length >= HEADER) {
    const next = HEADER + rest.readUInt32LE(0);
    if (next < rest.length && checkRecord(rest, next, rest.length, seed) > 0) return at + next;
  }
  const limit = Math.min(rest.length, RESYNC_MAX, proof < 0 ? Infinity : proof - at);
  for (let i = 1; i < limit; i++) {
    const k = rest[i + 4];
    if (k === undefined || k < RecordKind.DEF_PUT || k > MAX_KIND) continue;
    if (checkRecord(rest, i, rest.length, seed) > 0) return at + i;
  }
  return proof;
}

/** Write `bytes` to a new file `path` and make it and its directory entry durable. */
function writeSideFile(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

function sameBytes(path: string, bytes: Buffer): boolean {
  try {
    return readFileSync(path).equals(bytes);
  } catch {
    return false;
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Keep the newest `keep` side files ending in `suffix` (by modification time). */
function pruneSideFiles(dir: string, suffix: string, keep: number): void {
  const files = readdirSync(dir)
    .filter((n) => n.endsWith(suffix))
    .map((n) => ({ path: join(dir, n), t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const f of files.slice(keep)) rmSync(f.path, { force: true });
}

export function decodeDefinition(payload: Buffer): unknown {
  const keyLength = payload.readUInt32LE(0);
  return decodeTagged(payload.toString('utf8', 4 + keyLength));
}

/**
 * The scan keeps no object per message: each ENQUEUE record gets an entry in its segment's
 * RecordIndex (offset, size, state) and a record number (position in scan order); each queue
 * maps seq -> record number in a QueueScan. Nothing of a message's content is decoded until
 * the replay, which reads back only the records whose bodies fit in the budget.
 */
class Scanner {
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
          if (full) message = pagedStub(location, index.priorityOf(i), index.expiryOf(i));
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

/**
 * A message past the body budget: only its location, priority and expiresAt are meaningful
 * (read it with `load`).
 */
function pagedStub(location: JournalLocation, priority: number, expiresAt: number): StoredMessage {
  return {
    exchange: '',
    routingKey: '',
    properties: EMPTY,
    body: undefined,
    bodySize: 0,
    priority,
    expiresAt,
    timestamp: 0,
    location,
  };
}
