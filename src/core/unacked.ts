import type { QueueEntry } from './queue-entry.js';

/**
 * A session's unacked deliveries, in tag order. Tags only increase (one per delivery; a no-ack
 * delivery takes a number but is not kept), so entries are appended to a ring of slots in tag
 * order: a tag is found at its offset from the first slot while none between was skipped, else
 * by binary search over the slots' tags. A settled slot stays as a hole (its tag still sorts)
 * until the front passes it or the ring, full, is compacted. In-order acks only move the front:
 * no hashing, and nothing allocated once the ring has grown to the prefetch window (a Map
 * rehashed its table as it grew, shrank and filled with deleted entries).
 */
export class UnackedDeliveries {
  private tags: number[];
  private slots: (QueueEntry | undefined)[];
  private mask: number;
  /** Physical index of the first slot; it holds an entry whenever `size` is not 0. */
  private start = 0;
  /** Slots in use from `start`, holes included. */
  private span = 0;
  /** Entries held. */
  size = 0;

  constructor() {
    this.tags = new Array<number>(16).fill(0);
    this.slots = new Array<QueueEntry | undefined>(16).fill(undefined);
    this.mask = 15;
  }

  /** Append `entry` under `tag`, which must be above every tag added before. */
  add(tag: number, entry: QueueEntry): void {
    if (this.span === this.slots.length) this.makeRoom();
    const p = (this.start + this.span) & this.mask;
    this.tags[p] = tag;
    this.slots[p] = entry;
    this.span++;
    this.size++;
  }

  get(tag: number): QueueEntry | undefined {
    const j = this.find(tag);
    return j < 0 ? undefined : this.slots[(this.start + j) & this.mask];
  }

  has(tag: number): boolean {
    return this.find(tag) >= 0;
  }

  /** Remove and return the entry under `tag`, undefined if none. */
  take(tag: number): QueueEntry | undefined {
    const j = this.find(tag);
    if (j < 0) return undefined;
    const p = (this.start + j) & this.mask;
    const e = this.slots[p];
    this.slots[p] = undefined;
    this.size--;
    if (j === 0) this.skipHoles();
    else if (j === this.span - 1) this.trimHoles();
    return e;
  }

  /** Remove and return the entry with the lowest tag if that tag is at most `upto`. */
  takeFirst(upto: number): QueueEntry | undefined {
    if (this.size === 0 || this.tags[this.start]! > upto) return undefined;
    const p = this.start;
    const e = this.slots[p];
    this.slots[p] = undefined;
    this.size--;
    this.skipHoles();
    return e;
  }

  /** The entries in tag order (a copy: the caller may settle them as it goes). */
  values(): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (let j = 0; j < this.span; j++) {
      const e = this.slots[(this.start + j) & this.mask];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** The tags held, in order. */
  keys(): number[] {
    const out: number[] = [];
    for (let j = 0; j < this.span; j++) {
      const p = (this.start + j) & this.mask;
      if (this.slots[p] !== undefined) out.push(this.tags[p]!);
    }
    return out;
  }

  clear(): void {
    for (let j = 0; j < this.span; j++) this.slots[(this.start + j) & this.mask] = undefined;
    this.start = this.span = this.size = 0;
  }

  /** Logical index (from `start`) of the slot holding `tag`, -1 when no entry has it. */
  private find(tag: number): number {
    if (this.size === 0) return -1;
    const tags = this.tags;
    const mask = this.mask;
    const start = this.start;
    // No skipped tags since the first: the offset is the index.
    let j = tag - tags[start]!;
    if (j >= 0 && j < this.span && tags[(start + j) & mask] === tag)
      return this.slots[(start + j) & mask] === undefined ? -1 : j;
    let lo = 0;
    let hi = this.span - 1;
    while (lo <= hi) {
      j = (lo + hi) >>> 1;
      const t = tags[(start + j) & mask]!;
      if (t < tag) lo = j + 1;
      else if (t > tag) hi = j - 1;
      else return this.slots[(start + j) & mask] === undefined ? -1 : j;
    }
    return -1;
  }

  /** The front moves past holes, so `start` holds an entry (or the ring is empty). */
  private skipHoles(): void {
    while (this.span !== 0 && this.slots[this.start] === undefined) {
      this.start = (this.start + 1) & this.mask;
      this.span--;
    }
    if (this.span === 0) this.start = 0;
  }

  /** The last slot was freed: the span ends at the last entry. */
  private trimHoles(): void {
    while (this.span !== 0 && this.slots[(this.start + this.span - 1) & this.mask] === undefined)
      this.span--;
  }

  /** Full span: squeeze out the holes, into a ring twice the size if more than half is live. */
  private makeRoom(): void {
    const cap = this.slots.length;
    const mask = this.mask;
    const start = this.start;
    if (this.size * 2 <= cap) {
      // In place, in ring order: the write position never passes the read position.
      let w = 0;
      for (let j = 0; j < this.span; j++) {
        const p = (start + j) & mask;
        const e = this.slots[p];
        if (e === undefined) continue;
        const q = (start + w++) & mask;
        if (q === p) continue;
        this.tags[q] = this.tags[p]!;
        this.slots[q] = e;
        this.slots[p] = undefined;
      }
      this.span = w;
      return;
    }
    const tags = new Array<number>(cap * 2).fill(0);
    const slots = new Array<QueueEntry | undefined>(cap * 2).fill(undefined);
    let w = 0;
    for (let j = 0; j < this.span; j++) {
      const p = (start + j) & mask;
      const e = this.slots[p];
      if (e === undefined) continue;
      tags[w] = this.tags[p]!;
      slots[w++] = e;
    }
    this.tags = tags;
    this.slots = slots;
    this.mask = cap * 2 - 1;
    this.start = 0;
    this.span = w;
  }
}
