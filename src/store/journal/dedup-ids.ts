import { DEDUP_FIXED, HEADER, RecordKind, sealRecord } from './record.js';
import { encodeDedup } from './record-writer.js';
import type { PinHost } from './pinned-records.js';
import type { DedupEntry } from './segment.js';

/*
 * The deduplication ids the journal keeps for the core, pinned like the records in
 * pinned-records.ts: re-appended (in one DEDUP record as a batch is sealed) before the segment
 * of their latest record goes, unless expired or forgotten by then. Apart from those because
 * the ids also keep an index by the segment each pins, so deleting a segment visits only its
 * own ids, not every id held.
 */

/** Deduplication ids the core holds (scope -> id), each pinning its latest record's segment. */
export class DedupIds {
  /** The order number of the last dedup id recorded. */
  order = 0;
  private byScope = new Map<number, Map<string, DedupEntry>>();
  /** The same entries by the segment they pin, so deleting a segment visits only its own. */
  private readonly bySegment = new Map<number, Set<DedupEntry>>();
  private dirty: DedupEntry[] = [];
  private readonly host: PinHost;

  constructor(host: PinHost) {
    this.host = host;
  }

  /** Take recovery's ids and last order number. */
  adopt(byScope: Map<number, Map<string, DedupEntry>>, order: number): void {
    this.byScope = byScope;
    for (const ids of byScope.values()) for (const e of ids.values()) this.index(e);
    this.order = order;
  }

  /** `e` is the scope's newest record of its id: it replaces any older entry. */
  keep(e: DedupEntry): void {
    let ids = this.byScope.get(e.scope);
    if (ids === undefined) this.byScope.set(e.scope, (ids = new Map<string, DedupEntry>()));
    const old = ids.get(e.id);
    if (old !== undefined) {
      ids.delete(e.id);
      this.drop(old);
    }
    ids.set(e.id, e);
    this.index(e);
  }

  forget(scope: number, id?: string): void {
    const ids = this.byScope.get(scope);
    if (ids === undefined) return;
    if (id === undefined) {
      this.byScope.delete(scope);
      for (const e of ids.values()) this.drop(e);
      return;
    }
    const e = ids.get(id);
    if (e === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.byScope.delete(scope);
    this.drop(e);
  }

  /** The dedup entries re-appended this flush, in one DEDUP record (their order kept). */
  flush(): void {
    if (this.dirty.length === 0) return;
    const list = this.dirty;
    this.dirty = [];
    let bytes = 0;
    for (const e of list) {
      e.dirty = false;
      if (!e.removed) bytes += DEDUP_FIXED + 3 * e.id.length;
    }
    if (bytes === 0) return;
    const seg = this.host.room(HEADER + 4 + bytes);
    const gc = this.host.gc;
    const p = gc.reserve(seg, HEADER + 4 + bytes);
    const b = gc.slab;
    let q = p + HEADER + 4;
    let n = 0;
    for (const e of list) {
      if (e.removed) continue;
      q = encodeDedup(b, q, e.scope, e.order, e.expiresAt, e.id);
      n++;
    }
    b.writeUInt32LE(n, p + HEADER);
    gc.commit(seg, sealRecord(b, p, q, RecordKind.DEDUP, seg.id));
    for (const e of list) {
      if (e.removed) continue;
      this.unindex(e);
      if (e.segment >= 0) this.host.unpin(e.segment);
      e.segment = seg.id;
      this.index(e);
      seg.pins++;
    }
  }

  reappend(segmentId: number): void {
    const pinned = this.bySegment.get(segmentId);
    if (pinned === undefined) return;
    const now = Date.now();
    for (const e of [...pinned]) {
      if (e.dirty) continue;
      // An expired id need not outlive its segment: forget it instead of copying it.
      if (e.expired(now)) this.forget(e.scope, e.id);
      else {
        e.dirty = true;
        this.dirty.push(e);
        this.host.gc.touch();
      }
    }
  }

  private drop(e: DedupEntry): void {
    e.removed = true;
    this.unindex(e);
    if (e.segment >= 0) this.host.unpin(e.segment);
  }

  private index(e: DedupEntry): void {
    if (e.segment < 0) return;
    let set = this.bySegment.get(e.segment);
    if (set === undefined) this.bySegment.set(e.segment, (set = new Set()));
    set.add(e);
  }

  private unindex(e: DedupEntry): void {
    const set = this.bySegment.get(e.segment);
    if (set === undefined) return;
    set.delete(e);
    if (set.size === 0) this.bySegment.delete(e.segment);
  }
}
