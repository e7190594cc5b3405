import type { StoredMessage } from '../store.js';

/**
 * One queue's messages while recovery scans the log. Seqs almost always arrive ascending, so
 * they go into two parallel arrays (cheaper than a Map at a million entries: no rehashing, and
 * little for the GC to trace); a removed message leaves a hole that is compacted away once
 * holes dominate. A seq arriving out of order (a compaction copy whose original is gone, or
 * a queue whose seqs restarted) switches the queue to a Map sorted at the end.
 */
export class QueueScan {
  private seqs: number[] = [];
  private msgs: (StoredMessage | undefined)[] = [];
  /** First index that may still hold a message (the holes before it are a settled prefix). */
  private first = 0;
  private holes = 0;
  private map: Map<number, StoredMessage> | undefined = undefined;

  /** Add or replace (a later copy wins); returns the message it replaced. */
  set(seq: number, m: StoredMessage): StoredMessage | undefined {
    if (this.map !== undefined) {
      const prev = this.map.get(seq);
      this.map.set(seq, m);
      return prev;
    }
    const n = this.seqs.length;
    if (n === 0 || seq > this.seqs[n - 1]!) {
      this.seqs.push(seq);
      this.msgs.push(m);
      return undefined;
    }
    const i = this.find(seq);
    if (i >= 0) {
      const prev = this.msgs[i];
      if (prev === undefined) this.holes--;
      this.msgs[i] = m;
      if (i < this.first) this.first = i;
      return prev;
    }
    this.map = new Map(this.entries());
    this.map.set(seq, m);
    this.seqs = [];
    this.msgs = [];
    return undefined;
  }

  delete(seq: number): StoredMessage | undefined {
    if (this.map !== undefined) {
      const m = this.map.get(seq);
      if (m !== undefined) this.map.delete(seq);
      return m;
    }
    const i = this.find(seq);
    if (i < 0) return undefined;
    const m = this.msgs[i];
    if (m === undefined) return undefined;
    this.msgs[i] = undefined;
    this.holes++;
    while (this.first < this.msgs.length && this.msgs[this.first] === undefined) this.first++;
    if (this.holes > 4096 && this.holes * 2 > this.seqs.length) this.compact();
    return m;
  }

  /** Remove every message with seq <= upto; calls `dropped` for each. */
  purge(upto: number, dropped: (m: StoredMessage) => void): void {
    if (this.map !== undefined) {
      for (const [seq, m] of this.map) {
        if (seq <= upto) {
          this.map.delete(seq);
          dropped(m);
        }
      }
      return;
    }
    for (let i = this.first; i < this.seqs.length && this.seqs[i]! <= upto; i++) {
      const m = this.msgs[i];
      if (m !== undefined) {
        this.msgs[i] = undefined;
        this.holes++;
        dropped(m);
      }
    }
    this.compact();
  }

  /** Live messages in ascending seq order. */
  *entries(): Generator<[number, StoredMessage]> {
    if (this.map !== undefined) {
      const seqs = [...this.map.keys()].sort((a, b) => a - b);
      for (const s of seqs) yield [s, this.map.get(s)!];
      return;
    }
    for (let i = this.first; i < this.seqs.length; i++) {
      const m = this.msgs[i];
      if (m !== undefined) yield [this.seqs[i]!, m];
    }
  }

  /** Call `fn` for each live message in ascending seq order (no per-entry allocation). */
  each(fn: (seq: number, m: StoredMessage) => void): void {
    if (this.map !== undefined) {
      for (const [seq, m] of this.entries()) fn(seq, m);
      return;
    }
    for (let i = this.first; i < this.seqs.length; i++) {
      const m = this.msgs[i];
      if (m !== undefined) fn(this.seqs[i]!, m);
    }
  }

  /** Index of `seq` (binary search over the ascending seqs), or -1. */
  private find(seq: number): number {
    const s = this.seqs;
    // Settles mostly hit the oldest live message (FIFO consumption): try it first.
    if (s[this.first] === seq) return this.first;
    let lo = this.first;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = s[mid]!;
      if (v === seq) return mid;
      if (v < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private compact(): void {
    const seqs: number[] = [];
    const msgs: StoredMessage[] = [];
    for (let i = this.first; i < this.seqs.length; i++) {
      const m = this.msgs[i];
      if (m !== undefined) {
        seqs.push(this.seqs[i]!);
        msgs.push(m);
      }
    }
    this.seqs = seqs;
    this.msgs = msgs;
    this.first = 0;
    this.holes = 0;
  }
}
