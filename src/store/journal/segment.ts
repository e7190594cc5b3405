import { closeSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageLocation } from '../store.js';

const NAME = /^(\d{20})\.seg$/;
const SPARE = /^(\d{20})\.spare$/;

/** `00000000000000000042.seg` */
export function segmentName(id: number): string {
  return `${String(id).padStart(20, '0')}.seg`;
}

/**
 * A deleted segment kept for reuse, named after the last segment it was: segment numbers only
 * grow past it, so its stale records (CRCs started from older numbers) never validate again.
 */
export function spareName(id: number): string {
  return `${String(id).padStart(20, '0')}.spare`;
}

export interface JournalFiles {
  /** Segment ids, ascending. */
  segments: number[];
  /** Spare files (full names), newest last. */
  spares: string[];
  /** Highest number any segment or spare carries. */
  maxId: number;
}

/** The segments and spares in `dir`. Other files are ignored. */
export function listJournalFiles(dir: string): JournalFiles {
  const segments: number[] = [];
  const spareIds: number[] = [];
  for (const name of readdirSync(dir)) {
    let m = NAME.exec(name);
    if (m !== null) segments.push(Number(m[1]));
    else if ((m = SPARE.exec(name)) !== null) spareIds.push(Number(m[1]));
  }
  segments.sort((a, b) => a - b);
  spareIds.sort((a, b) => a - b);
  const maxId = Math.max(0, ...segments, ...spareIds);
  return { segments, spares: spareIds.map(spareName), maxId };
}

/**
 * Where a message's ENQUEUE record lives: the segment number, the offset of the record's
 * header and the size of the whole record (9-byte header included), so one pread of `size`
 * bytes at `offset` fetches it. The journal never mutates one after handing it out, and
 * accepts any object with these three numbers in its place (the core may keep only the
 * numbers for a paged-out message and rebuild a plain object later).
 */
export class JournalLocation implements MessageLocation {
  readonly segment: number;
  readonly offset: number;
  readonly size: number;
  constructor(segment: number, offset: number, size: number) {
    this.segment = segment;
    this.offset = offset;
    this.size = size;
  }
}

/** States of an ENQUEUE record in a RecordIndex. */
export const DEAD = 0;
/** Held by the one queue its record names. */
export const SINGLE = 1;
/** Routed to several queues; `RecordIndex.fans` lists the (queue, seq) pairs still holding it. */
export const MULTI = 2;
/** Copied elsewhere by compaction; `RecordIndex.fwd` says where. */
export const MOVED = 3;
/** Recovery only: seen in the scan, not yet claimed by a live (queue, seq). */
export const SCANNED_SINGLE = 4;
export const SCANNED_MULTI = 5;

/**
 * The ENQUEUE records of one segment in typed arrays, ascending by offset: 5 bytes per record
 * (12 more for one compaction has moved), instead of an object per message. Settles and purges
 * find a record by the offset in its location (binary search, with a cursor for the FIFO case).
 * A message routed to several queues also has a `fans` entry listing the pairs still holding
 * it, because compaction must copy only those.
 */
export class RecordIndex {
  readonly segment: number;
  count = 0;
  offs: Uint32Array;
  refs: Uint8Array;
  /** Record sizes, kept during recovery only. */
  sizes: Uint32Array | undefined;
  /**
   * Message priorities (the record's u8), recovery only, made at the first record with one
   * (1 byte per record then): a paged stub carries its priority so a priority queue puts it in
   * its level.
   */
  priorities: Uint8Array | undefined = undefined;
  /**
   * Message expiries (the record's f64 expiresAt: a delayed exchange's due time), recovery
   * only, made at the first record with one (8 bytes per record then), for paged stubs.
   */
  expiries: Float64Array | undefined = undefined;
  /** MULTI records: entry index -> [queueId, seq, ...] of the queues still holding it. */
  fans: Map<number, number[]> | undefined = undefined;
  /** MOVED records: [segment, offset, size] of the copy, three per entry. */
  fwd: Uint32Array | undefined = undefined;
  private hint = 0;

  constructor(segment: number, capacity = 64, withSizes = false) {
    this.segment = segment;
    this.offs = new Uint32Array(capacity);
    this.refs = new Uint8Array(capacity);
    this.sizes = withSizes ? new Uint32Array(capacity) : undefined;
  }

  add(offset: number, state: number, size = 0, priority = 0, expiresAt = 0): number {
    const i = this.count;
    if (i === this.offs.length) this.resize(i * 2);
    this.offs[i] = offset;
    this.refs[i] = state;
    if (this.sizes !== undefined) this.sizes[i] = size;
    if (priority !== 0) (this.priorities ??= new Uint8Array(this.offs.length))[i] = priority;
    if (expiresAt !== 0) (this.expiries ??= new Float64Array(this.offs.length))[i] = expiresAt;
    return this.count++;
  }

  /** The expiresAt recorded for entry `i` at recovery (0 when none was). */
  expiryOf(i: number): number {
    return this.expiries?.[i] ?? 0;
  }

  /** The priority recorded for entry `i` at recovery (0 when none was). */
  priorityOf(i: number): number {
    return this.priorities?.[i] ?? 0;
  }

  /** Entry index of the record at `offset`, or -1. */
  find(offset: number): number {
    const o = this.offs;
    const h = this.hint;
    if (h < this.count && o[h] === offset) return h;
    if (h + 1 < this.count && o[h + 1] === offset) return (this.hint = h + 1);
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = o[mid]!;
      if (v === offset) return (this.hint = mid);
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  fansOf(i: number): number[] {
    return this.fans!.get(i)!;
  }

  setFans(i: number, pairs: number[]): void {
    (this.fans ??= new Map()).set(i, pairs);
  }

  setForward(i: number, segment: number, offset: number, size: number): void {
    if (this.fwd === undefined) this.fwd = new Uint32Array(this.offs.length * 3);
    this.refs[i] = MOVED;
    this.fwd[i * 3] = segment;
    this.fwd[i * 3 + 1] = offset;
    this.fwd[i * 3 + 2] = size;
  }

  /**
   * Keep only the entries `keep` accepts (renumbering `fans` and `fwd`) in arrays of exactly
   * that size. Drops `sizes`.
   */
  compact(keep: (state: number) => boolean): void {
    const n = this.count;
    const o = this.offs;
    const r = this.refs;
    let k = 0;
    for (let i = 0; i < n; i++) if (keep(r[i]!)) k++;
    const offs = new Uint32Array(k);
    const refs = new Uint8Array(k);
    const fwd = this.fwd === undefined ? undefined : new Uint32Array(k * 3);
    const fans = this.fans === undefined ? undefined : new Map<number, number[]>();
    k = 0;
    for (let i = 0; i < n; i++) {
      const state = r[i]!;
      if (!keep(state)) continue;
      offs[k] = o[i]!;
      refs[k] = state;
      if (state === MULTI) fans!.set(k, this.fans!.get(i)!);
      if (state === MOVED) fwd!.set(this.fwd!.subarray(i * 3, i * 3 + 3), k * 3);
      k++;
    }
    this.offs = offs;
    this.refs = refs;
    this.fwd = fwd;
    this.fans = fans?.size === 0 ? undefined : fans;
    this.sizes = undefined;
    this.priorities = undefined;
    this.expiries = undefined;
    this.count = k;
    this.hint = 0;
  }

  private resize(capacity: number): void {
    const grow = <T extends Uint32Array | Uint8Array | Float64Array>(
      a: T,
      make: (n: number) => T,
      n: number,
    ): T => {
      const b = make(n);
      b.set(a.subarray(0, Math.min(a.length, n)));
      return b;
    };
    this.offs = grow(this.offs, (n) => new Uint32Array(n), capacity);
    this.refs = grow(this.refs, (n) => new Uint8Array(n), capacity);
    if (this.sizes !== undefined)
      this.sizes = grow(this.sizes, (n) => new Uint32Array(n), capacity);
    if (this.priorities !== undefined)
      this.priorities = grow(this.priorities, (n) => new Uint8Array(n), capacity);
    if (this.expiries !== undefined)
      this.expiries = grow(this.expiries, (n) => new Float64Array(n), capacity);
    if (this.fwd !== undefined) this.fwd = grow(this.fwd, (n) => new Uint32Array(n), capacity * 3);
  }
}

/** Live records: held by at least one queue. */
export function isLive(state: number): boolean {
  return state === SINGLE || state === MULTI;
}

/**
 * One segment file and its bookkeeping. `size` counts every byte appended (some may still sit
 * in the pending batch), `written` the bytes handed to the kernel, `synced` the durable ones.
 */
export class Segment {
  readonly id: number;
  readonly path: string;
  /** Read-write for the segments this process created, read-only (opened on demand) otherwise. */
  fd = -1;
  size = 0;
  written = 0;
  synced = 0;
  /** Live (queue, message) references to ENQUEUE records in this segment. */
  live = 0;
  /** Bytes of ENQUEUE records here that at least one queue still holds. */
  liveBytes = 0;
  /** Definitions and delivered-watermarks whose latest record is here. */
  pins = 0;
  /** `load` reads under way: the file is not deleted (nor its descriptor closed) meanwhile. */
  readers = 0;
  /** Ended by a SEAL record: nothing more is appended. */
  sealed = false;
  /**
   * The batch holding the latest record that superseded something here (a settle, a purge, a
   * compaction copy). The segment may go once that batch is durable and nothing is live.
   */
  supersededIn = 0;
  /** The ENQUEUE records here: live counts per message, compaction's work list. */
  index: RecordIndex;

  constructor(dir: string, id: number, withSizes = false) {
    this.id = id;
    this.path = join(dir, segmentName(id));
    this.index = new RecordIndex(id, 64, withSizes);
  }

  /** A descriptor to read from, opening the file read-only on first use. */
  readFd(): number {
    if (this.fd < 0) this.fd = openSync(this.path, 'r');
    return this.fd;
  }

  closeFd(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** The latest DEF_PUT of a key: its payload (re-appended verbatim) and where it lives. */
export class DefEntry {
  readonly payload: Buffer;
  segment: number;
  constructor(payload: Buffer, segment: number) {
    this.payload = payload;
    this.segment = segment;
  }
}

/** A queue's delivered-watermark; `segment` is -1 until its record is appended. */
export class MarkEntry {
  readonly queueId: number;
  seq: number;
  segment: number;
  /** Waiting in the open batch's watermark record. */
  dirty = false;
  /** Dropped by a purge while dirty: not written, not pinned. */
  removed = false;
  constructor(queueId: number, seq: number, segment: number) {
    this.queueId = queueId;
    this.seq = seq;
    this.segment = segment;
  }
}

/**
 * The failure count of a live message (queue, seq) and the segment holding its latest record
 * (-1 until appended). That segment is pinned like one holding a watermark: before it is
 * deleted the count is re-appended at the head, so a count lives as long as its message,
 * whatever compaction and crashes do to the records around it.
 */
export class FailureEntry {
  readonly queueId: number;
  readonly seq: number;
  count: number;
  segment: number;
  /** Waiting in the open batch's FAILURES record. */
  dirty = false;
  /** Settled or purged (while dirty: not written, not pinned). */
  removed = false;
  constructor(queueId: number, seq: number, count: number, segment: number) {
    this.queueId = queueId;
    this.seq = seq;
    this.count = count;
    this.segment = segment;
  }
}

/**
 * A deduplication id a queue or exchange (`scope`) holds, and the segment of its latest record
 * (-1 until appended). Pinned like a failure count: re-appended at the head before that
 * segment goes, unless it has expired or the core forgot it (evicted, scope deleted).
 */
export class DedupEntry {
  readonly scope: number;
  readonly id: string;
  /** When it was first recorded, store-wide: recovery hands ids back in this order. */
  readonly order: number;
  readonly expiresAt: number;
  segment: number;
  /** Waiting in the open batch's DEDUP record. */
  dirty = false;
  /** Forgotten or replaced (while dirty: not written, not pinned). */
  removed = false;
  constructor(scope: number, id: string, order: number, expiresAt: number, segment: number) {
    this.scope = scope;
    this.id = id;
    this.order = order;
    this.expiresAt = expiresAt;
    this.segment = segment;
  }

  expired(now: number): boolean {
    return this.expiresAt !== 0 && this.expiresAt <= now;
  }
}
