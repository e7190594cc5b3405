/**
 * A FIFO of journal positions (segment, offset, size) in typed arrays: 12 bytes per paged-out
 * message instead of an object graph, so a backlog far larger than memory stays cheap.
 */
export class PagedRing {
  private segs = new Uint32Array(1024);
  private offs = new Uint32Array(1024);
  private sizes = new Uint32Array(1024);
  private head = 0;
  private mask = 1023;
  length = 0;

  reserve(n: number): void {
    let size = this.segs.length;
    while (size < this.length + n) size *= 2;
    if (size !== this.segs.length) this.grow(size);
  }

  push(segment: number, offset: number, size: number): void {
    if (this.length === this.segs.length) this.grow();
    const i = (this.head + this.length) & this.mask;
    this.segs[i] = segment;
    this.offs[i] = offset;
    this.sizes[i] = size;
    this.length++;
  }

  /** The front position; valid until the next shift. */
  segmentAt(i: number): number {
    return this.segs[(this.head + i) & this.mask]!;
  }
  offsetAt(i: number): number {
    return this.offs[(this.head + i) & this.mask]!;
  }
  sizeAt(i: number): number {
    return this.sizes[(this.head + i) & this.mask]!;
  }

  shift(): void {
    this.head = (this.head + 1) & this.mask;
    this.length--;
    if (this.length === 0) this.head = 0;
  }

  clear(): void {
    this.head = 0;
    this.length = 0;
    if (this.segs.length > 1024) {
      this.segs = new Uint32Array(1024);
      this.offs = new Uint32Array(1024);
      this.sizes = new Uint32Array(1024);
      this.mask = 1023;
    }
  }

  private grow(n = this.segs.length * 2): void {
    const copy = (a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
      const b = new Uint32Array(n);
      for (let i = 0; i < this.length; i++) b[i] = a[(this.head + i) & this.mask]!;
      return b;
    };
    this.segs = copy(this.segs);
    this.offs = copy(this.offs);
    this.sizes = copy(this.sizes);
    this.head = 0;
    this.mask = n - 1;
  }
}
