import { readSync } from 'node:fs';
import type { StoredMessage } from '../store.js';
import { StoreCorruptError } from '../store-failure.js';
import {
  checkRecord,
  describeCheck,
  enqueueFixed,
  HEADER,
  isEnqueue,
  MAX_PAYLOAD,
  PAIR,
  readSeq,
  RecordKind,
} from './record.js';
import type { JournalLocation, Segment } from './segment.js';

/** Default read-ahead window: one pread fetches this much of a segment. */
export const WINDOW = 1 << 20;

class Window {
  segment = -1;
  start = 0;
  end = 0;
  used = 0;
  buf: Buffer | undefined = undefined;
}

/**
 * Reads records back with read-ahead: a miss reads `windowSize` bytes from the record on with
 * one pread into one of a few windows (least recently used is replaced), and the records that
 * follow are served from memory. A draining backlog reads its records in order, so it costs
 * one pread per window instead of one per message. Several windows let a few queues drain
 * from different places at once. A record larger than a window gets a read of its own.
 *
 * Written bytes of a segment never change and segment numbers are never reused, so a window
 * stays valid as long as it exists. Returned buffers are windows (or a fresh buffer): valid
 * until the next call; callers copy what they keep.
 */
export class RecordReader {
  /** Where the record starts in the buffer the last call returned. */
  at = 0;
  /** preads issued (for tests and benchmarks). */
  reads = 0;
  private readonly windowSize: number;
  private readonly windows: Window[] = [];
  private tick = 0;

  constructor(windowSize = WINDOW, windows = 4) {
    this.windowSize = windowSize;
    for (let i = 0; i < windows; i++) this.windows.push(new Window());
  }

  /**
   * The `size` bytes at `offset` of `seg` (which must be written: `offset + size <=
   * seg.written`), unchecked. Throws StoreCorruptError if the file is shorter.
   */
  bytes(seg: Segment, offset: number, size: number): Buffer {
    const end = offset + size;
    let lru = this.windows[0]!;
    for (const w of this.windows) {
      if (w.segment === seg.id && w.start <= offset && end <= w.end) {
        w.used = ++this.tick;
        this.at = offset - w.start;
        return w.buf!;
      }
      if (w.used < lru.used) lru = w;
    }
    if (end > seg.written)
      throw new Error(`journal record at ${seg.path}:${offset} is not written`);
    if (size > this.windowSize) {
      const own = Buffer.allocUnsafeSlow(size);
      this.fill(seg, own, offset, size, size);
      this.at = 0;
      return own;
    }
    const w = lru;
    w.buf ??= Buffer.allocUnsafeSlow(this.windowSize);
    w.segment = -1;
    const got = this.fill(
      seg,
      w.buf,
      offset,
      Math.min(this.windowSize, seg.written - offset),
      size,
    );
    w.segment = seg.id;
    w.start = offset;
    w.end = offset + got;
    w.used = ++this.tick;
    this.at = 0;
    return w.buf;
  }

  /**
   * The CRC-checked message record (ENQUEUE_T or ENQUEUE) at `offset` of `seg`; `size` is its whole size, or 0 to take
   * it from the header. Throws StoreCorruptError when the bytes there are not a valid record.
   */
  enqueue(seg: Segment, offset: number, size = 0): Buffer {
    if (size === 0) {
      if (offset + HEADER > seg.written) throw corrupt(seg, offset, 'no record header here');
      const h = this.bytes(seg, offset, HEADER);
      const length = h.readUInt32LE(this.at);
      if (length === 0 || length > MAX_PAYLOAD || offset + HEADER + length > seg.written) {
        throw corrupt(seg, offset, describeCheck(-2));
      }
      size = HEADER + length;
    }
    const buf = this.bytes(seg, offset, size);
    const at = this.at;
    const code = checkRecord(buf, at, at + size, seg.id);
    if (code < 0) throw corrupt(seg, offset, describeCheck(code));
    if (code !== size) {
      throw new Error(
        `journal location ${seg.id}:${offset} says ${size} bytes but the record there has ${code}`,
      );
    }
    if (!isEnqueue(buf[at + 4])) {
      throw new Error(`journal location ${seg.id}:${offset} is not a message record`);
    }
    return buf;
  }

  /** Forget every window (their segments may be gone). */
  clear(): void {
    for (const w of this.windows) {
      w.segment = -1;
      w.buf = undefined;
    }
  }

  /** Read `want` bytes at `offset` into `buf`; at least `need` must be there. */
  private fill(seg: Segment, buf: Buffer, offset: number, want: number, need: number): number {
    const fd = seg.readFd();
    let got = 0;
    this.reads++;
    while (got < want) {
      const n = readSync(fd, buf, got, want - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got < need) throw corrupt(seg, offset, 'the file ends inside the record');
    return got;
  }
}

function corrupt(seg: Segment, offset: number, reason: string): StoreCorruptError {
  return new StoreCorruptError(seg.path, offset, reason);
}

/** A shared empty buffer (never written to). */
export const EMPTY = Buffer.alloc(0);

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

/** Remembers the last decoded string, since exchange and routing key repeat a lot. */
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
 * Decodes message records (ENQUEUE_T and the older ENQUEUE, layout in record.ts) into StoredMessages whose buffers are private
 * copies, never views of the read-ahead window. Consecutive messages with the same properties
 * bytes share one properties Buffer (treat it as read-only).
 */
export class EnqueueDecoder {
  private readonly exchanges = new StringCache();
  private readonly routingKeys = new StringCache();
  private readonly properties = new BytesCache();

  /** The seq recorded for `queueId` in the record at `rec[at...]`, or -1. */
  seqOf(rec: Buffer, at: number, queueId: number): number {
    const p = at + HEADER;
    const fixed = enqueueFixed(rec[at + 4]!);
    const n = rec.readUInt16LE(p + fixed - 2);
    for (let i = 0, q = p + fixed; i < n; i++, q += PAIR) {
      if (rec.readUInt32LE(q) === queueId) return readSeq(rec, q + 4);
    }
    return -1;
  }

  /**
   * The message in the record `rec[at, at + size)`. Its body is copied when `bodyRoom` is at
   * least the body's size, else left undefined (a paged message).
   */
  decode(rec: Buffer, at: number, size: number, location: JournalLocation, bodyRoom = Infinity) {
    const end = at + size;
    const p = at + HEADER;
    const priority = rec[p]!;
    const expiresAt = rec.readDoubleLE(p + 1);
    const timestamped = rec[at + 4] === RecordKind.ENQUEUE_T;
    const timestamp = timestamped ? rec.readDoubleLE(p + 9) : 0;
    const fixed = enqueueFixed(rec[at + 4]!);
    let q = p + fixed + rec.readUInt16LE(p + fixed - 2) * PAIR;
    let len = rec.readUInt16LE(q);
    const exchange = this.exchanges.get(rec, q + 2, len);
    q += 2 + len;
    len = rec.readUInt16LE(q);
    const routingKey = this.routingKeys.get(rec, q + 2, len);
    q += 2 + len;
    len = rec.readUInt32LE(q);
    q += 4;
    const properties = this.properties.get(rec, q, len);
    q += len;
    const bodySize = end - q;
    const body = bodySize > bodyRoom ? undefined : bodySize === 0 ? EMPTY : copy(rec, q, end);
    const m: StoredMessage = {
      exchange,
      routingKey,
      properties,
      body,
      bodySize,
      priority,
      expiresAt,
      timestamp,
      location,
    };
    return m;
  }
}

/** A private copy, so a kept buffer never pins a window or a segment buffer. */
function copy(buf: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  const out = Buffer.allocUnsafe(n);
  // Small copies are cheaper as a loop than through Buffer#copy's argument checks.
  if (n <= 64) for (let i = 0; i < n; i++) out[i] = buf[start + i]!;
  else buf.copy(out, 0, start, end);
  return out;
}
