import { fdatasync, fsync, open, rename, writev } from 'node:fs';
import { StoreFailure } from '../store-failure.js';
import type { Segment } from './segment.js';

export type SyncCallback = (err: Error | undefined) => void;

/** Records are encoded into pooled 1 MiB slabs; a batch writes slab regions, never copies. */
const SLAB = 1 << 20;
const POOL_MAX = 4;

/** A run of consecutive bytes of one batch that go to one segment at one file position. */
class Chunk {
  readonly segment: Segment;
  readonly position: number;
  readonly bufs: Buffer[] = [];
  bytes = 0;
  constructor(segment: Segment, position: number) {
    this.segment = segment;
    this.position = position;
  }
}

class Batch {
  readonly no: number;
  readonly chunks: Chunk[] = [];
  readonly waiters: SyncCallback[] = [];
  /** Slabs this batch filled; they return to the pool once it is written. */
  readonly retired: Buffer[] = [];
  constructor(no: number) {
    this.no = no;
  }
}

export interface GroupCommitHooks {
  /** Called as a batch is sealed, so batched records (settles, watermarks) join it last. */
  beforeSeal(): void;
  /** Called after a batch is durable and its waiters have run. */
  afterDurable(): void;
  /** A spare file to reuse for a new segment (renamed to it), if there is one. */
  takeSpare(): string | undefined;
}

/**
 * Group commit without timers. Appends encode into the open batch; if nothing is being
 * written, a flush is scheduled for the end of this event-loop turn. A flush seals the open
 * batch and writes it with one writev and one fdatasync per segment it touches; records
 * appended meanwhile gather in the next batch, which starts the moment the previous one is
 * durable. Waiters are kept per batch. A failed write or sync is sticky and never retried.
 */
export class GroupCommit {
  /** The slab being filled; callers write records into it at the offset `reserve` returns. */
  slab: Buffer = Buffer.allocUnsafeSlow(SLAB);
  failure: Error | undefined = undefined;
  /** Number of the last batch that is durable. */
  durableBatch = 0;
  syncs = 0;
  bytesWritten = 0;
  /** Records appended (durable or not). */
  records = 0;

  private pos = 0;
  /** Start of the slab bytes not yet handed to a chunk. */
  private mark = 0;
  private chunk: Chunk | undefined = undefined;
  private open = new Batch(1);
  private flying: Batch | undefined = undefined;
  private flyingChunk = 0;
  private dirty = false;
  private scheduled = false;
  private readonly pool: Buffer[] = [];
  private readonly dirFd: number;
  private readonly hooks: GroupCommitHooks;

  constructor(dirFd: number, hooks: GroupCommitHooks) {
    this.dirFd = dirFd;
    this.hooks = hooks;
  }

  /** Number of the batch that records appended now will belong to. */
  get openBatch(): number {
    return this.open.no;
  }

  /** True while anything is appended but not yet durable. */
  get busy(): boolean {
    return this.dirty || this.flying !== undefined;
  }

  /**
   * Make room for a record of at most `max` bytes going to `segment` at offset `segment.size`.
   * Returns where to encode it in `this.slab`; `commit` then adds the bytes actually used.
   */
  reserve(segment: Segment, max: number): number {
    if (this.slab.length - this.pos < max) this.newSlab(max);
    if (this.chunk === undefined || this.chunk.segment !== segment) {
      this.cut();
      this.chunk = new Chunk(segment, segment.size);
      this.open.chunks.push(this.chunk);
    }
    return this.pos;
  }

  commit(segment: Segment, bytes: number): void {
    this.pos += bytes;
    segment.size += bytes;
    this.chunk!.bytes += bytes;
    this.records++;
    this.touch();
  }

  /** Append `buf` as its own iovec right after the last commit (a large body, not copied). */
  external(segment: Segment, buf: Buffer): void {
    this.cut();
    this.chunk!.bufs.push(buf);
    this.chunk!.bytes += buf.length;
    segment.size += buf.length;
  }

  /** Note pending work that is encoded only when the batch is sealed (settles, watermarks). */
  touch(): void {
    if (this.dirty) return;
    this.dirty = true;
    if (this.flying === undefined && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  afterSync(cb: SyncCallback): void {
    if (this.failure !== undefined) process.nextTick(cb, this.failure);
    else if (this.dirty) this.open.waiters.push(cb);
    else if (this.flying !== undefined) this.flying.waiters.push(cb);
    else process.nextTick(cb, undefined);
  }

  private newSlab(max: number): void {
    this.cut();
    this.open.retired.push(this.slab);
    this.slab =
      max > SLAB ? Buffer.allocUnsafeSlow(max) : (this.pool.pop() ?? Buffer.allocUnsafeSlow(SLAB));
    this.pos = this.mark = 0;
  }

  /** Hand the slab bytes encoded since the last cut to the current chunk. */
  private cut(): void {
    if (this.pos > this.mark) {
      this.chunk!.bufs.push(this.slab.subarray(this.mark, this.pos));
      this.mark = this.pos;
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.flying !== undefined || this.failure !== undefined || !this.dirty) return;
    this.hooks.beforeSeal();
    this.cut();
    const b = this.open;
    this.open = new Batch(b.no + 1);
    this.chunk = undefined;
    this.dirty = false;
    this.flying = b;
    this.flyingChunk = 0;
    this.step();
  };

  /** Write and sync the flying batch chunk by chunk, so a segment is complete before the next. */
  private step(): void {
    const b = this.flying!;
    const c = b.chunks[this.flyingChunk];
    if (c === undefined) return this.done(b);
    if (c.bytes === 0) {
      this.flyingChunk++;
      return this.step();
    }
    if (c.segment.fd >= 0) return writev(c.segment.fd, c.bufs, c.position, this.onWrite);
    const spare = this.hooks.takeSpare();
    if (spare === undefined) open(c.segment.path, 'wx+', 0o644, this.onOpen);
    else rename(spare, c.segment.path, this.onRenamed);
  }

  /** A recycled file keeps its blocks: overwriting them syncs faster than growing a file. */
  private readonly onRenamed = (err: Error | null): void => {
    const path = this.flying!.chunks[this.flyingChunk]!.segment.path;
    // A spare that vanished is no loss: create the file instead.
    open(path, err === null ? 'r+' : 'wx+', 0o644, this.onOpen);
  };

  private readonly onOpen = (err: Error | null, fd: number): void => {
    if (err !== null) return this.fail(err, 'create');
    this.flying!.chunks[this.flyingChunk]!.segment.fd = fd;
    // The new file's directory entry must be durable before anything in it is confirmed.
    fsync(this.dirFd, this.onDirSync);
  };

  private readonly onDirSync = (err: Error | null): void => {
    if (err !== null) return this.fail(err, 'fsync the directory of');
    const c = this.flying!.chunks[this.flyingChunk]!;
    writev(c.segment.fd, c.bufs, c.position, this.onWrite);
  };

  private readonly onWrite = (err: Error | null, n: number): void => {
    const c = this.flying!.chunks[this.flyingChunk]!;
    if (err !== null) return this.fail(err, 'write');
    if (n !== c.bytes)
      return this.fail(new Error(`short write: ${n} of ${c.bytes} bytes`), 'write');
    c.segment.written = c.position + n;
    this.bytesWritten += n;
    fdatasync(c.segment.fd, this.onSync);
  };

  private readonly onSync = (err: Error | null): void => {
    const c = this.flying!.chunks[this.flyingChunk]!;
    if (err !== null) return this.fail(err, 'fdatasync');
    c.segment.synced = c.segment.written;
    this.syncs++;
    this.flyingChunk++;
    this.step();
  };

  private done(b: Batch): void {
    for (const s of b.retired)
      if (s.length === SLAB && this.pool.length < POOL_MAX) this.pool.push(s);
    this.durableBatch = b.no;
    // Appends made by waiters (and by the hook) join the open batch, which is flushed right
    // away instead of a turn later; `flying` stays set meanwhile so nothing schedules a flush.
    notify(b.waiters, undefined);
    this.hooks.afterDurable();
    this.flying = undefined;
    if (this.dirty) this.flush();
  }

  private fail(err: Error, what: string): void {
    const c = this.flying!.chunks[this.flyingChunk]!;
    this.failure = new StoreFailure(
      `journal failed to ${what} ${c.segment.path}: ${err.message}; it accepts no more writes`,
      { cause: err },
    );
    const flying = this.flying!;
    this.flying = undefined;
    notify(flying.waiters, this.failure);
    notify(this.open.waiters, this.failure);
    this.open.waiters.length = 0;
  }
}

function notify(waiters: SyncCallback[], err: Error | undefined): void {
  for (let i = 0; i < waiters.length; i++) {
    try {
      waiters[i]!(err);
    } catch (e) {
      // A throwing callback must not stall the journal; surface it as an uncaught error.
      process.nextTick(rethrow, e);
    }
  }
}

function rethrow(e: unknown): never {
  throw e;
}
