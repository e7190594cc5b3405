/** Marks a settled entry, and what `set` and `delete` return when there was none. */
export const NONE = 0xffffffff;

/** Entries per chunk; a chunk's arrays start small and double up to this. */
const CHUNK = 8192;
const FIRST = 16;

/** Seqs `base + deltas[i]` (ascending) and their record numbers; NONE marks a hole. */
class Chunk {
  readonly base: number;
  deltas: Uint32Array;
  recs: Uint32Array;
  n = 0;
  live = 0;
  /** First index that may still be live (the ones before it are a settled prefix). */
  lo = 0;
  constructor(base: number) {
    this.base = base;
    this.deltas = new Uint32Array(FIRST);
    this.recs = new Uint32Array(FIRST);
  }

  get last(): number {
    return this.base + this.deltas[this.n - 1]!;
  }

  push(seq: number, rec: number): void {
    if (this.n === this.deltas.length) {
      const d = new Uint32Array(this.n * 2);
      d.set(this.deltas);
      this.deltas = d;
      const r = new Uint32Array(this.n * 2);
      r.set(this.recs);
      this.recs = r;
    }
    this.deltas[this.n] = seq - this.base;
    this.recs[this.n++] = rec;
    this.live++;
  }

  /** Index of `seq`, or -1. */
  find(seq: number): number {
    const d = seq - this.base;
    if (d < 0 || d > 0xffffffff) return -1;
    const ds = this.deltas;
    // Settles mostly hit the oldest live entry (FIFO consumption): try it first.
    if (this.lo < this.n && ds[this.lo] === d) return this.lo;
    let lo = this.lo;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ds[mid]!;
      if (v === d) return mid;
      if (v < d) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Clear entry `i`; returns its record number. */
  kill(i: number): number {
    const rec = this.recs[i]!;
    this.recs[i] = NONE;
    this.live--;
    while (this.lo < this.n && this.recs[this.lo] === NONE) this.lo++;
    return rec;
  }
}

/**
 * One queue's messages while recovery scans the log: seq -> record number (an index into the
 * records the scan has seen), in typed-array chunks of up to 8192 entries, 8 bytes per message
 * and no object per message. Seqs almost always arrive ascending, so they are appended; a
 * chunk whose entries have all been settled is dropped. A seq arriving below the highest one
 * that is not already present (a compaction copy whose original is gone, or a queue whose seqs
 * restarted) switches the queue to a Map, sorted at the end; that costs far more per message
 * but does not happen in normal operation.
 */
export class QueueScan {
  /** Highest seq any record named for this queue (enqueue, settle, purge, watermark). */
  maxSeq = -1;
  /** Live entries. */
  size = 0;
  private chunks: Chunk[] = [];
  private top = -1;
  private map: Map<number, number> | undefined = undefined;

  /** Note a seq some record named, live or not. */
  saw(seq: number): void {
    if (seq > this.maxSeq) this.maxSeq = seq;
  }

  /** Add or replace (a later copy wins); returns the record number it replaced, or NONE. */
  set(seq: number, rec: number): number {
    this.saw(seq);
    if (this.map !== undefined) {
      const prev = this.map.get(seq);
      this.map.set(seq, rec);
      if (prev === undefined) this.size++;
      return prev ?? NONE;
    }
    if (seq > this.top) {
      this.top = seq;
      this.size++;
      const c = this.chunks[this.chunks.length - 1];
      if (c !== undefined && c.n < CHUNK && seq - c.base <= 0xffffffff) c.push(seq, rec);
      else {
        const fresh = new Chunk(seq);
        fresh.push(seq, rec);
        this.chunks.push(fresh);
      }
      return NONE;
    }
    const ci = this.chunkOf(seq);
    const c = ci < 0 ? undefined : this.chunks[ci]!;
    const i = c === undefined ? -1 : c.find(seq);
    if (i >= 0 && c!.recs[i] !== NONE) {
      const prev = c!.recs[i]!;
      c!.recs[i] = rec;
      return prev;
    }
    const map = new Map<number, number>();
    this.each((s, r) => map.set(s, r));
    map.set(seq, rec);
    this.chunks = [];
    this.map = map;
    this.size = map.size;
    return NONE;
  }

  /** Remove `seq`; returns its record number, or NONE if it was not there. */
  delete(seq: number): number {
    this.saw(seq);
    if (this.map !== undefined) {
      const rec = this.map.get(seq);
      if (rec === undefined) return NONE;
      this.map.delete(seq);
      this.size--;
      return rec;
    }
    const ci = this.chunkOf(seq);
    if (ci < 0) return NONE;
    const c = this.chunks[ci]!;
    const i = c.find(seq);
    if (i < 0 || c.recs[i] === NONE) return NONE;
    const rec = c.kill(i);
    this.size--;
    if (c.live === 0) this.chunks.splice(ci, 1);
    return rec;
  }

  /** Remove every entry with seq <= upto. */
  purge(upto: number): void {
    this.saw(upto);
    if (this.map !== undefined) {
      for (const seq of this.map.keys()) if (seq <= upto) this.map.delete(seq);
      this.size = this.map.size;
      return;
    }
    const chunks = this.chunks;
    while (chunks.length > 0 && chunks[0]!.base <= upto) {
      const c = chunks[0]!;
      for (let i = c.lo; i < c.n && c.base + c.deltas[i]! <= upto; i++) {
        if (c.recs[i] !== NONE) {
          c.kill(i);
          this.size--;
        }
      }
      if (c.live > 0) break;
      chunks.shift();
    }
  }

  /** Call `fn` for each live entry in ascending seq order (no per-entry allocation). */
  each(fn: (seq: number, rec: number) => void): void {
    if (this.map !== undefined) {
      const seqs = [...this.map.keys()].sort((a, b) => a - b);
      for (const s of seqs) fn(s, this.map.get(s)!);
      return;
    }
    for (const c of this.chunks) {
      const { base, deltas, recs } = c;
      for (let i = c.lo; i < c.n; i++) {
        const rec = recs[i]!;
        if (rec !== NONE) fn(base + deltas[i]!, rec);
      }
    }
  }

  /**
   * `each`, emptying the queue as it goes: a chunk's memory can be reclaimed as soon as it has
   * been visited. `maxSeq` stays.
   */
  drain(fn: (seq: number, rec: number) => void): void {
    const map = this.map;
    const chunks: (Chunk | undefined)[] = this.chunks;
    this.map = undefined;
    this.chunks = [];
    this.size = 0;
    if (map !== undefined) {
      const seqs = [...map.keys()].sort((a, b) => a - b);
      for (const s of seqs) fn(s, map.get(s)!);
      return;
    }
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k]!;
      chunks[k] = undefined;
      const { base, deltas, recs } = c;
      for (let i = c.lo; i < c.n; i++) {
        const rec = recs[i]!;
        if (rec !== NONE) fn(base + deltas[i]!, rec);
      }
    }
  }

  /** Index of the chunk that would hold `seq`, or -1. */
  private chunkOf(seq: number): number {
    const cs = this.chunks;
    const n = cs.length;
    if (n === 0 || seq < cs[0]!.base) return -1;
    if (n === 1 || seq < cs[1]!.base) return 0;
    if (seq >= cs[n - 1]!.base) return n - 1;
    let lo = 1;
    let hi = n - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (cs[mid]!.base <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
