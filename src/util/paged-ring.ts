/** Entries per chunk: 64 Ki positions, 768 KiB. */
const CHUNK = 65536;

/**
 * A FIFO of journal positions (segment, offset, size): 12 bytes per paged-out message in
 * fixed-size typed-array chunks, so a backlog of millions costs no objects and never a
 * doubling copy (which at 10M entries would briefly need twice the memory).
 */
export class PagedRing {
  /** Chunks in FIFO order; each holds [segment, offset, size] triples. */
  private readonly chunks: Uint32Array[] = [];
  private first = 0;
  private headIndex = 0;
  private tailIndex = CHUNK;
  length = 0;

  push(segment: number, offset: number, size: number): void {
    if (this.tailIndex === CHUNK) {
      this.chunks.push(new Uint32Array(CHUNK * 3));
      this.tailIndex = 0;
    }
    const c = this.chunks[this.chunks.length - 1]!;
    const i = this.tailIndex * 3;
    c[i] = segment;
    c[i + 1] = offset;
    c[i + 2] = size;
    this.tailIndex++;
    this.length++;
  }

  segmentAt0(): number {
    return this.chunks[this.first]![this.headIndex * 3]!;
  }
  offsetAt0(): number {
    return this.chunks[this.first]![this.headIndex * 3 + 1]!;
  }
  sizeAt0(): number {
    return this.chunks[this.first]![this.headIndex * 3 + 2]!;
  }

  shift(): void {
    this.length--;
    if (++this.headIndex === CHUNK || this.length === 0) {
      if (this.length === 0) {
        this.clear();
        return;
      }
      this.chunks[this.first] = EMPTY;
      this.first++;
      this.headIndex = 0;
      // Drop spent chunk slots now and then so the array does not grow without bound.
      if (this.first >= 64) {
        this.chunks.splice(0, this.first);
        this.first = 0;
      }
    }
  }

  clear(): void {
    this.chunks.length = 0;
    this.first = 0;
    this.headIndex = 0;
    this.tailIndex = CHUNK;
    this.length = 0;
  }
}

const EMPTY = new Uint32Array(0);
