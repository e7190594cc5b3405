import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync } from 'node:fs';
import type { RecoveryStats, RecoveryVisitor, StoredMessage } from '../store.js';
import { StoreCorruptError } from '../store-failure.js';
import {
  checkRecord,
  describeCheck,
  ENQUEUE_FIXED,
  HEADER,
  PAIR,
  readSeq,
  RecordKind,
} from './record.js';
import { QueueScan } from './queue-scan.js';
import { DefEntry, JournalLocation, MarkEntry, Segment } from './segment.js';
import { decodeTagged } from './tagged-json.js';

export interface RecoveredJournal {
  segments: Segment[];
  defs: Map<string, DefEntry>;
  marks: Map<number, MarkEntry>;
  liveMessages: number;
  stats: RecoveryStats;
}

const EMPTY = Buffer.alloc(0);

/**
 * Shares one Buffer between consecutive messages with identical properties (the common case:
 * the same publisher flags and headers), which saves a copy and an object per message.
 */
class BytesCache {
  private last: Buffer = EMPTY;
  get(buf: Buffer, start: number, length: number): Buffer {
    const l = this.last;
    if (length === l.length) {
      let i = 0;
      while (i < length && buf[start + i] === l[i]) i++;
      if (i === length) return l;
    }
    return (this.last = length === 0 ? EMPTY : copy(buf, start, start + length));
  }
}

/** Remembers the last decoded string per field, since exchange and routing key repeat a lot. */
class StringCache {
  private readonly bytes = Buffer.allocUnsafe(0x10000);
  private length = -1;
  private value = '';
  get(buf: Buffer, start: number, length: number): string {
    if (length === this.length) {
      let i = 0;
      while (i < length && buf[start + i] === this.bytes[i]) i++;
      if (i === length) return this.value;
    }
    buf.copy(this.bytes, 0, start, start + length);
    this.length = length;
    return (this.value = buf.toString('utf8', start, start + length));
  }
}

/**
 * Scan every segment in order, check each record's CRC and rebuild definitions, queues,
 * watermarks and live counts, then replay them into the visitor: definitions first, then each
 * queue's messages in ascending seq. A segment ends at its SEAL record or at the end of the
 * file. A torn or damaged tail of the LAST segment is truncated (nothing after it was
 * confirmed); damage in an earlier segment throws StoreCorruptError, because truncating there
 * would silently drop confirmed records after it.
 *
 * Redelivered flags: a clean close ends the last segment with a SEAL after flushing every
 * delivered-watermark, so then `seq <= watermark` is exact. After a crash the newest watermark
 * updates may not have reached the disk although their deliveries went out, so every recovered
 * message is flagged: it may have been delivered, which is what the flag promises.
 */
export function recoverJournal(
  dir: string,
  ids: readonly number[],
  bodyBudget: number,
  visitor: RecoveryVisitor,
): RecoveredJournal {
  const t0 = performance.now();
  const scan = new Scanner(bodyBudget);
  const segments: Segment[] = [];
  let truncatedBytes = 0;
  let clean = false;
  let buf = Buffer.allocUnsafeSlow(0);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (i > 0 && id !== ids[i - 1]! + 1) {
      throw new StoreCorruptError(
        new Segment(dir, ids[i - 1]! + 1).path,
        0,
        'this segment is missing between two present ones',
      );
    }
    const seg = new Segment(dir, id);
    const last = i === ids.length - 1;
    const fd = openSync(seg.path, last ? 'r+' : 'r');
    try {
      const size = fstatSync(fd).size;
      if (buf.length < size) buf = Buffer.allocUnsafeSlow(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, buf, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      const end = scan.segment(buf, got, seg);
      if (last) clean = scan.sealed;
      // Past a SEAL there may be a recycled file's old records: not ours, not damage.
      if (!scan.sealed && end < size) {
        const code = checkRecord(buf, end, got, id);
        if (!last) throw new StoreCorruptError(seg.path, end, describeCheck(code));
        // Torn tail: cut it so new appends never follow garbage, and make the cut durable.
        ftruncateSync(fd, end);
        fsyncSync(fd);
        truncatedBytes += size - end;
      }
      seg.size = seg.written = seg.synced = end;
    } finally {
      closeSync(fd);
    }
    segments.push(seg);
  }
  const first = ids[0] ?? 0;
  for (const d of scan.defs.values()) segments[d.segment - first]!.pins++;
  for (const m of scan.marks.values()) segments[m.segment - first]!.pins++;
  for (const [key, d] of scan.defs) visitor.definition(key, decodeDefinition(d.payload));
  const liveMessages = scan.replay(segments, first, clean, visitor);
  return {
    segments,
    defs: scan.defs,
    marks: scan.marks,
    liveMessages,
    stats: {
      segments: ids.length,
      records: scan.records,
      messages: liveMessages,
      truncatedBytes,
      maxQueueId: scan.maxQueueId,
      ms: performance.now() - t0,
    },
  };
}

export function decodeDefinition(payload: Buffer): unknown {
  const keyLength = payload.readUInt32LE(0);
  return decodeTagged(payload.toString('utf8', 4 + keyLength));
}

class Scanner {
  readonly defs = new Map<string, DefEntry>();
  readonly marks = new Map<number, MarkEntry>();
  readonly queues = new Map<number, QueueScan>();
  records = 0;
  maxQueueId = 0;
  sealed = false;
  private readonly budget: number;
  private bodyBytes = 0;
  private readonly exchanges = new StringCache();
  private readonly routingKeys = new StringCache();
  private readonly properties = new BytesCache();
  private lastQueueId = -1;
  private lastQueue: QueueScan | undefined = undefined;

  constructor(budget: number) {
    this.budget = budget;
  }

  /**
   * Apply the valid records of `buf[0, size)`; returns where they end, and sets `sealed` when
   * a SEAL record ended the segment.
   */
  segment(buf: Buffer, size: number, seg: Segment): number {
    let off = 0;
    this.sealed = false;
    while (off < size) {
      const n = checkRecord(buf, off, size, seg.id);
      if (n < 0) break;
      const p = off + HEADER;
      switch (buf[off + 4]) {
        case RecordKind.SEAL:
          this.records++;
          this.sealed = true;
          return off + n;
        case RecordKind.ENQUEUE:
          this.enqueue(buf, p, off + n, seg.id, off, n);
          break;
        case RecordKind.SETTLE:
          for (let q = p + 4, e = q + buf.readUInt32LE(p) * PAIR; q < e; q += PAIR) {
            this.settle(buf.readUInt32LE(q), readSeq(buf, q + 4));
          }
          break;
        case RecordKind.PURGE:
          this.purge(buf.readUInt32LE(p), readSeq(buf, p + 4));
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
    return off;
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

  private enqueue(buf: Buffer, p: number, end: number, segment: number, off: number, size: number) {
    const priority = buf[p]!;
    const expiresAt = buf.readDoubleLE(p + 1);
    const n = buf.readUInt16LE(p + 9);
    const pairs = p + ENQUEUE_FIXED;
    let q = pairs + n * PAIR;
    let len = buf.readUInt16LE(q);
    const exchange = this.exchanges.get(buf, q + 2, len);
    q += 2 + len;
    len = buf.readUInt16LE(q);
    const routingKey = this.routingKeys.get(buf, q + 2, len);
    q += 2 + len;
    len = buf.readUInt32LE(q);
    q += 4;
    const properties = this.properties.get(buf, q, len);
    q += len;
    const bodySize = end - q;
    let body: Buffer | undefined = undefined;
    if (this.bodyBytes + bodySize <= this.budget) {
      body = bodySize === 0 ? EMPTY : copy(buf, q, end);
      this.bodyBytes += bodySize;
    }
    const location = new JournalLocation(segment, off, size, 0, n > 1 ? [] : null);
    const m: StoredMessage = {
      exchange,
      routingKey,
      properties,
      body,
      bodySize,
      priority,
      expiresAt,
      location,
    };
    for (let i = 0; i < n; i++) {
      const t = pairs + i * PAIR;
      const seq = readSeq(buf, t + 4);
      // A compaction copy repeats (queue, seq): the later copy wins.
      const prev = this.queue(buf.readUInt32LE(t)).set(seq, m);
      if (prev !== undefined) this.drop(prev);
    }
  }

  private settle(queueId: number, seq: number): void {
    const m = this.queue(queueId).delete(seq);
    if (m !== undefined) this.drop(m);
  }

  private purge(queueId: number, upto: number): void {
    this.queue(queueId).purge(upto, this.drop);
    const mark = this.marks.get(queueId);
    if (mark !== undefined && mark.seq <= upto) this.marks.delete(queueId);
  }

  private mark(queueId: number, seq: number, segment: number): void {
    this.queue(queueId);
    const m = this.marks.get(queueId);
    if (m === undefined) this.marks.set(queueId, new MarkEntry(queueId, seq, segment));
    else if (seq >= m.seq) {
      m.seq = seq;
      m.segment = segment;
    }
  }

  /** A message left one queue; give its body budget back if no other queue can hold it. */
  private readonly drop = (m: StoredMessage): void => {
    if (m.body !== undefined && (m.location as JournalLocation).targets === null) {
      this.bodyBytes -= m.bodySize;
      m.body = undefined;
    }
  };

  /** Rebuild live counts and hand every surviving message to the visitor. */
  replay(segments: Segment[], first: number, clean: boolean, visitor: RecoveryVisitor): number {
    let live = 0;
    for (const [queueId, qs] of this.queues) {
      const mark = this.marks.get(queueId);
      const delivered = !clean ? Infinity : mark === undefined ? -1 : mark.seq;
      qs.each((seq, message) => {
        const loc = message.location as JournalLocation;
        const seg = segments[loc.segment - first]!;
        if (loc.refs++ === 0) {
          seg.liveBytes += loc.size;
          seg.locs.push(loc);
        }
        if (loc.targets !== null) loc.targets.push(queueId, seq);
        seg.live++;
        live++;
        visitor.message({ queueId, seq, message, redelivered: seq <= delivered });
      });
    }
    return live;
  }
}

/** A private copy, so a kept body never pins the whole segment buffer. */
function copy(buf: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  const out = Buffer.allocUnsafe(n);
  // Small copies are cheaper as a loop than through Buffer#copy's argument checks.
  if (n <= 64) for (let i = 0; i < n; i++) out[i] = buf[start + i]!;
  else buf.copy(out, 0, start, end);
  return out;
}
