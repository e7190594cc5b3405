/** Entries in a ring's first chunk; each next one doubles, up to CHUNK. */
const FIRST_CHUNK = 512;
/** Most entries per chunk: 64 Ki entries, 1 MiB of words and 64 KiB of flags. */
const CHUNK = 65536;
const TWO32 = 2 ** 32;

class Chunk {
  /** [a, b, c, seq - base] per entry. */
  readonly words: Uint32Array;
  readonly flags: Uint8Array;
  /** The seq of the chunk's first entry; the others are stored as 32-bit offsets from it. */
  base = 0;
  readonly entries: number;
  constructor(entries: number) {
    this.entries = entries;
    this.words = new Uint32Array(entries * 4);
    this.flags = new Uint8Array(entries);
  }
}

/**
 * A FIFO of paged-out messages: an opaque store reference (three 32-bit numbers), the seq and
 * a flags byte each, 17 bytes per message in fixed-size typed-array chunks, so a backlog of
 * millions costs no objects and never a doubling copy (which at 10M entries would briefly need
 * twice the memory). Seqs are pushed in ascending order; one that is not within 2^32 of its
 * chunk's first starts a new chunk.
 */
export class PagedRing {
  /** Chunks in FIFO order. */
  private readonly chunks: Chunk[] = [];
  private first = 0;
  private headIndex = 0;
  private tailIndex = CHUNK;
  length = 0;

  push(a: number, b: number, c: number, seq = 0, flags = 0): void {
    let t = this.chunks[this.chunks.length - 1];
    if (t === undefined || this.tailIndex === t.entries || seq < t.base || seq - t.base >= TWO32) {
      // Small first: many queues page a few messages each (1,000 queues must not cost 1 GiB).
      const prev = t;
      t = new Chunk(prev === undefined ? FIRST_CHUNK : Math.min(CHUNK, prev.entries * 2));
      t.base = seq;
      this.chunks.push(t);
      // A chunk cut short by a seq jump keeps its unused slots; reading skips them.
      if (prev !== undefined && this.tailIndex !== prev.entries && this.chunks.length > 1)
        this.ends.set(this.chunks.length - 2, this.tailIndex);
      this.tailIndex = 0;
    }
    const i = this.tailIndex * 4;
    const w = t.words;
    w[i] = a;
    w[i + 1] = b;
    w[i + 2] = c;
    w[i + 3] = seq - t.base;
    t.flags[this.tailIndex] = flags;
    this.tailIndex++;
    this.length++;
  }

  /** Chunks cut short (by position in `chunks`), with where they end. */
  private readonly ends = new Map<number, number>();

  aAt0(): number {
    return this.chunks[this.first]!.words[this.headIndex * 4]!;
  }
  bAt0(): number {
    return this.chunks[this.first]!.words[this.headIndex * 4 + 1]!;
  }
  cAt0(): number {
    return this.chunks[this.first]!.words[this.headIndex * 4 + 2]!;
  }
  seqAt0(): number {
    const c = this.chunks[this.first]!;
    return c.base + c.words[this.headIndex * 4 + 3]!;
  }
  flagsAt0(): number {
    return this.chunks[this.first]!.flags[this.headIndex]!;
  }
  /** The same as aAt0, bAt0 and cAt0 under the names the journal gives its references. */
  segmentAt0(): number {
    return this.aAt0();
  }
  offsetAt0(): number {
    return this.bAt0();
  }
  sizeAt0(): number {
    return this.cAt0();
  }

  /**
   * Visit up to `max` entries from the front, oldest first, while `take(flags)` accepts them,
   * without removing them; returns how many were visited.
   */
  peekFront(
    max: number,
    take: (flags: number) => boolean,
    visit: (a: number, b: number, c: number) => void,
  ): number {
    let n = 0;
    let ci = this.first;
    let i = this.headIndex;
    while (n < max && n < this.length) {
      const c = this.chunks[ci]!;
      if (i === (this.ends.get(ci) ?? c.entries)) {
        ci++;
        i = 0;
        continue;
      }
      if (!take(c.flags[i]!)) break;
      visit(c.words[i * 4]!, c.words[i * 4 + 1]!, c.words[i * 4 + 2]!);
      i++;
      n++;
    }
    return n;
  }

  shift(): void {
    this.length--;
    if (this.length === 0) {
      this.clear();
      return;
    }
    const end = this.ends.get(this.first) ?? this.chunks[this.first]!.entries;
    if (++this.headIndex === end) {
      this.ends.delete(this.first);
      this.chunks[this.first] = EMPTY;
      this.first++;
      this.headIndex = 0;
      // Drop spent chunk slots now and then so the array does not grow without bound.
      if (this.first >= 64) {
        this.chunks.splice(0, this.first);
        if (this.ends.size > 0) {
          const moved = [...this.ends].map(([k, v]) => [k - this.first, v] as const);
          this.ends.clear();
          for (const [k, v] of moved) this.ends.set(k, v);
        }
        this.first = 0;
      }
    }
  }

  clear(): void {
    this.chunks.length = 0;
    this.ends.clear();
    this.first = 0;
    this.headIndex = 0;
    this.tailIndex = CHUNK;
    this.length = 0;
  }
}

const EMPTY = new Chunk(0);
