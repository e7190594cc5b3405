/** A growable FIFO on a power-of-two ring: O(1) push and shift, no Array#shift copying. */
export class RingBuffer<T> {
  private items: (T | undefined)[];
  private head = 0;
  private tail = 0;
  private mask: number;
  length = 0;

  constructor(capacity = 16) {
    let size = 16;
    while (size < capacity) size *= 2;
    this.items = new Array<T | undefined>(size);
    this.mask = size - 1;
  }

  push(item: T): void {
    if (this.length === this.items.length) this.grow();
    this.items[this.tail] = item;
    this.tail = (this.tail + 1) & this.mask;
    this.length++;
  }

  /** Put an item back at the front (used for requeue of the most recent delivery). */
  unshift(item: T): void {
    if (this.length === this.items.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = item;
    this.length++;
  }

  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return item;
  }

  /** Item at position i from the front, for scans (purge, browse). */
  at(i: number): T | undefined {
    return i < this.length ? this.items[(this.head + i) & this.mask] : undefined;
  }

  clear(): void {
    this.items = new Array<T | undefined>(16);
    this.mask = 15;
    this.head = this.tail = this.length = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.length; i++) yield this.items[(this.head + i) & this.mask] as T;
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.tail = this.length;
    this.mask = next.length - 1;
  }
}
