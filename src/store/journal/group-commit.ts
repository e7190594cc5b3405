import { fdatasync, fsync, ftruncate, open, rename, write, writev } from 'node:fs';
import { StoreFailure } from '../store-failure.js';
import { BATCH_SIZE, writeBatch } from './record.js';
import type { Segment } from './segment.js';
import { Histogram } from '../../util/histogram.js';
import { COMMIT_BATCH_BUCKETS, FSYNC_SECONDS_BUCKETS } from '../store.js';
import { clearArray } from '../../util/clear-array.js';

export type SyncCallback = (err: Error | undefined) => void;

/** Records are encoded into pooled 1 MiB slabs; a batch writes slab regions, never copies. */
const SLAB = 1 << 20;
const POOL_MAX = 4;

/**
 * Test-only (BATON_TEST_CONFIRM_BEFORE_FSYNC=1): skip fdatasync and call waiters once the write
 * is done. Unsafe by design: the fault suite uses it to prove it can see lost messages.
 */
const UNSAFE_NO_SYNC = process.env.BATON_TEST_CONFIRM_BEFORE_FSYNC === '1';

/** How long a write that found the disk full waits before it is tried again. */
const RETRY_MS = 250;
const RETRY_MAX_MS = 2000;

/** Chunks kept for reuse: at low rates every message may be a batch of its own. */
const CHUNK_POOL = 8;

/**
 * A run of consecutive bytes of one batch that go to one segment at one file position. It
 * starts with a BATCH record (filled in when the batch is sealed). Reused once its batch is
 * durable (`reset`), with its `bufs` array.
 */
class Chunk {
  segment: Segment;
  position: number;
  readonly bufs: Buffer[] = [];
  bytes = 0;
  headerSlab: Buffer;
  headerAt: number;
  constructor(segment: Segment, position: number, headerSlab: Buffer, headerAt: number) {
    this.segment = segment;
    this.position = position;
    this.headerSlab = headerSlab;
    this.headerAt = headerAt;
  }

  reset(segment: Segment, position: number, headerSlab: Buffer, headerAt: number): this {
    this.segment = segment;
    this.position = position;
    this.headerSlab = headerSlab;
    this.headerAt = headerAt;
    this.bytes = 0;
    return this;
  }
}

/** Reused once durable and told (see `GroupCommit.recycle`), arrays and all. */
class Batch {
  no: number;
  readonly chunks: Chunk[] = [];
  readonly waiters: SyncCallback[] = [];
  /**
   * Waiters of the batch before, durable already: told once this batch's first write lands,
   * its BATCH header right after their bytes being their proof.
   */
  readonly proven: SyncCallback[] = [];
  /** Slabs this batch filled; they return to the pool once it is written. */
  readonly retired: Buffer[] = [];
  constructor(no: number) {
    this.no = no;
  }
}

export interface GroupCommitHooks {
  /**
   * A write found the disk full (ENOSPC, EDQUOT) and is retried until it succeeds (`err`), or
   * it succeeded again (`undefined`). Nothing is confirmed or failed meanwhile.
   */
  stalled(err: Error | undefined): void;
  /** The journal failed for good (sticky `failure`); called once. */
  failed(err: Error): void;
  /** Called as a batch is sealed, so batched records (settles, watermarks) join it last. */
  beforeSeal(): void;
  /** Called after a batch is durable and its waiters have run. */
  afterDurable(): void;
  /** A spare file to reuse for a new segment (renamed to it), if there is one. */
  takeSpare(): string | undefined;
  /** A file created for a new segment is extended to this size first (0: left empty). */
  readonly extendNewFilesTo: number;
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
  /** Set while a write waits for disk space (see GroupCommitHooks.stalled). */
  stall: Error | undefined = undefined;
  /** Writes retried after the disk was full. */
  retries = 0;
  /** fdatasync latency (seconds) and records per sealed batch, for metrics. */
  readonly fsyncSeconds = new Histogram(FSYNC_SECONDS_BUCKETS);
  readonly batchRecords = new Histogram(COMMIT_BATCH_BUCKETS);
  /** performance.now() (a monotonic hrtime clock, no allocation) as the fdatasync began. */
  private syncStart = 0;
  /** `records` when the last batch was sealed. */
  private sealedRecords = 0;
  private retryMs = RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined = undefined;
  /** An fs call of the flying batch has not called back yet. */
  private inFlight = false;
  /** The file being opened for the flying chunk is a new one (not a renamed spare). */
  private creating = false;
  /** Set by `abandon`: callbacks still to come do nothing more. */
  private abandoned: (() => void) | undefined = undefined;
  /** `drained()` callers, told false if the journal stalls or fails first. */
  private drainWaiters: ((ok: boolean) => void)[] = [];

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
  /** The end-of-batch marker's own bytes: appends made while it is written use the slab. */
  private readonly marker = Buffer.allocUnsafeSlow(BATCH_SIZE);
  /** The durable batch whose marker is being written; its waiters are told once it lands. */
  private proving: Batch | undefined = undefined;
  /** A durable batch and chunks emptied for reuse: no objects or arrays per batch. */
  private spareBatch: Batch | undefined = undefined;
  private readonly chunkPool: Chunk[] = [];
  private readonly dirFd: number;
  private readonly hooks: GroupCommitHooks;
  /** The journal's secret for BATCH tags (journal-key.ts). */
  readonly key: number;

  constructor(dirFd: number, hooks: GroupCommitHooks, key: number) {
    this.dirFd = dirFd;
    this.hooks = hooks;
    this.key = key;
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
    if (this.chunk === undefined || this.chunk.segment !== segment) {
      if (this.slab.length - this.pos < max + BATCH_SIZE) this.newSlab(max + BATCH_SIZE);
      this.cut();
      const spare = this.chunkPool.pop();
      const c = (this.chunk =
        spare !== undefined
          ? spare.reset(segment, segment.size, this.slab, this.pos)
          : new Chunk(segment, segment.size, this.slab, this.pos));
      this.open.chunks.push(c);
      this.pos += BATCH_SIZE;
      segment.size += BATCH_SIZE;
      c.bytes += BATCH_SIZE;
    } else if (this.slab.length - this.pos < max) this.newSlab(max);
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
    this.seal();
    this.step();
  };

  /** Make the open batch the flying one, its BATCH headers filled in. */
  private seal(): void {
    this.hooks.beforeSeal();
    this.cut();
    const b = this.open;
    // (A batch of no records, only a proof header or a dropped watermark, is no commit.)
    if (this.records !== this.sealedRecords)
      this.batchRecords.observe(this.records - this.sealedRecords);
    this.sealedRecords = this.records;
    for (const c of b.chunks)
      writeBatch(c.headerSlab, c.headerAt, c.segment.id, c.position, c.bytes, this.key);
    const next = this.spareBatch;
    this.spareBatch = undefined;
    if (next !== undefined) next.no = b.no + 1;
    this.open = next ?? new Batch(b.no + 1);
    this.chunk = undefined;
    this.dirty = false;
    this.flying = b;
    this.flyingChunk = 0;
  }

  /** Seal the open batch and return it (now flying). */
  private sealed(): Batch {
    this.seal();
    return this.flying!;
  }

  /** Write and sync the flying batch chunk by chunk, so a segment is complete before the next. */
  private step(): void {
    const b = this.flying!;
    const c = b.chunks[this.flyingChunk];
    if (c === undefined) return this.done(b);
    if (c.bytes === 0) {
      this.flyingChunk++;
      return this.step();
    }
    this.inFlight = true;
    if (c.segment.fd >= 0) return writev(c.segment.fd, c.bufs, c.position, this.onWrite);
    const spare = this.hooks.takeSpare();
    if (spare === undefined) this.create(c.segment.path);
    else rename(spare, c.segment.path, this.onRenamed);
  }

  private create(path: string): void {
    this.creating = true;
    open(path, 'wx+', 0o644, this.onOpen);
  }

  /** Every fs callback of the flying batch starts here; false: stop (close abandoned it). */
  private landed(): boolean {
    this.inFlight = false;
    if (this.abandoned === undefined) return true;
    this.abandoned();
    return false;
  }

  /** A recycled file keeps its blocks: overwriting them syncs faster than growing a file. */
  private readonly onRenamed = (err: Error | null): void => {
    if (!this.landed()) return;
    const path = this.flying!.chunks[this.flyingChunk]!.segment.path;
    // A spare that vanished is no loss: create the file instead.
    this.inFlight = true;
    if (err === null) open(path, 'r+', 0o644, this.onOpen);
    else this.create(path);
  };

  private readonly onOpen = (err: Error | null, fd: number): void => {
    if (!this.landed()) return;
    const c = this.flying!.chunks[this.flyingChunk]!;
    // O_EXCL creation that found no space left no file behind: try again later.
    if (err !== null && isNoSpace(err)) return this.stalled(c, err, 0);
    if (err !== null) return this.fail(err, 'create');
    c.segment.fd = fd;
    this.inFlight = true;
    const size = this.hooks.extendNewFilesTo;
    if (this.creating && size > 0) {
      this.creating = false;
      // A file that keeps its size while it is written syncs faster: appending changes the
      // size with every batch, which makes each fdatasync commit the filesystem's journal too
      // (recycled spares get this for free). The holes read as zeros: the end of the log.
      return ftruncate(fd, size, this.onExtended);
    }
    this.creating = false;
    // The new file's directory entry must be durable before anything in it is confirmed.
    fsync(this.dirFd, this.onDirSync);
  };

  /** Extending is only a speed-up: a file that could not be extended is used as it is. */
  private readonly onExtended = (): void => {
    if (!this.landed()) return;
    this.inFlight = true;
    fsync(this.dirFd, this.onDirSync);
  };

  private readonly onDirSync = (err: Error | null): void => {
    if (!this.landed()) return;
    if (err !== null) return this.fail(err, 'fsync the directory of');
    const c = this.flying!.chunks[this.flyingChunk]!;
    this.inFlight = true;
    writev(c.segment.fd, c.bufs, c.position, this.onWrite);
  };

  private readonly onWrite = (err: Error | null, n: number): void => {
    if (!this.landed()) return;
    const c = this.flying!.chunks[this.flyingChunk]!;
    if (err !== null && !isNoSpace(err)) return this.fail(err, 'write');
    // A short write is a disk that filled up under us; nothing is failed while space may return.
    if (err !== null || n !== c.bytes) return this.stalled(c, err, n);
    if (this.stall !== undefined) {
      this.stall = undefined;
      this.retryMs = RETRY_MS;
      this.hooks.stalled(undefined);
    }
    c.segment.written = c.position + n;
    this.bytesWritten += n;
    const b = this.flying!;
    if (this.flyingChunk === 0 && b.proven.length !== 0) {
      notify(b.proven, undefined);
      clearArray(b.proven);
    }
    this.inFlight = true;
    if (UNSAFE_NO_SYNC) return this.onSync(null);
    this.syncStart = performance.now();
    fdatasync(c.segment.fd, this.onSync);
  };

  /**
   * The disk is full: write the same bytes at the same place again later. Whatever part of
   * them reached the file is overwritten then, or is a torn tail if the process dies first.
   */
  private stalled(c: Chunk, err: Error | null, n: number): void {
    if (this.stall === undefined) {
      this.stall = new StoreFailure(
        `journal cannot write ${c.segment.path}: ` +
          (err === null ? `short write (${n} of ${c.bytes} bytes), disk full` : err.message) +
          '; retrying until there is space again',
        { cause: err ?? undefined },
      );
      this.hooks.stalled(this.stall);
      this.tellDrained(false);
    }
    this.retries++;
    this.retryTimer = setTimeout(this.retry, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private readonly retry = (): void => {
    this.retryTimer = undefined;
    if (this.flying === undefined || this.failure !== undefined) return;
    this.step();
  };

  /**
   * Resolves true once everything appended so far is durable, false if the journal stalls on
   * a full disk or fails first (close must not wait for space that may never come).
   */
  drained(): Promise<boolean> {
    if (this.failure !== undefined || this.stall !== undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      let done = false;
      const tell = (ok: boolean): void => {
        if (!done) resolve(ok);
        done = true;
      };
      this.drainWaiters.push(tell);
      this.afterSync((err) => tell(err === undefined));
    });
  }

  private tellDrained(ok: boolean): void {
    if (this.drainWaiters.length === 0) return;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const tell of w) tell(ok);
  }

  /**
   * Give up on the flying batch (close while the disk is full): no more retries, and once an
   * fs call still under way has called back, nothing more is done with its result, so the
   * files can be closed safely. Its records stay unconfirmed.
   */
  abandon(): Promise<void> {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!this.inFlight) {
      this.abandoned = () => {};
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.abandoned = resolve));
  }

  private readonly onSync = (err: Error | null): void => {
    if (!this.landed()) return;
    const c = this.flying!.chunks[this.flyingChunk]!;
    if (err !== null) return this.fail(err, 'fdatasync');
    c.segment.synced = c.segment.written;
    this.syncs++;
    if (!UNSAFE_NO_SYNC) this.fsyncSeconds.observe((performance.now() - this.syncStart) / 1000);
    this.flyingChunk++;
    this.step();
  };

  private done(b: Batch): void {
    this.durableBatch = b.no;
    // Before anyone hears "durable", a BATCH record is written after these bytes (recovery's
    // proof that they were synced, so damage in them is corruption, not a torn write): the
    // next batch's header if one is waiting (its waiters are told when that lands), else a
    // marker at the end. The marker is not counted in the segment's size: the next header
    // overwrites it, so unsynced bytes always start with exactly one BATCH record.
    const last = b.chunks[b.chunks.length - 1]?.segment;
    // (A batch may hold no bytes at all: a watermark dropped by a purge before it was encoded.)
    const proved = last === undefined || last.sealed;
    if (!proved && !this.dirty && last.fd >= 0 && last.size === last.written) {
      // The marker is written off the event loop (a synchronous write here held every
      // connection for its duration, at times milliseconds: it extends the file). `b` stays
      // flying until it lands, so nothing else is written meanwhile; appends gather in the
      // open batch, whose header later overwrites the marker.
      writeBatch(this.marker, 0, last.id, last.size, BATCH_SIZE, this.key);
      this.proving = b;
      this.inFlight = true;
      write(last.fd, this.marker, 0, BATCH_SIZE, last.size, this.onMarker);
      return;
    }
    this.told(b, proved);
  }

  private readonly onMarker = (err: Error | null, n: number): void => {
    if (!this.landed()) return;
    const b = this.proving!;
    this.proving = undefined;
    // Best effort: with no room even for the marker (or a failed write), a batch of just a
    // header carries the proof instead (or the header of the batch gathered meanwhile).
    const proved = err === null && n === BATCH_SIZE;
    if (!proved && !this.dirty) {
      this.reserve(b.chunks[b.chunks.length - 1]!.segment, 0);
      this.dirty = true;
    }
    this.told(b, proved);
  };

  /** `b` is durable and `proved` says whether its proof is written: tell its waiters. */
  private told(b: Batch, proved: boolean): void {
    const next = this.dirty ? this.sealed() : undefined;
    for (const s of b.retired)
      if (s.length === SLAB && this.pool.length < POOL_MAX) this.pool.push(s);
    this.flying = next;
    if (!proved && next !== undefined) {
      // Told once the next batch's first write (its header: their proof) lands, rather than
      // after a write of that header of its own here: a synchronous write per batch on the
      // event loop (at low rates nearly every batch has a next one waiting: settles).
      for (let i = 0; i < b.waiters.length; i++) next.proven.push(b.waiters[i]!);
      clearArray(b.waiters);
    }
    // Appends made by waiters (and by the hook) join the open batch; with `flying` set
    // nothing schedules a flush for them until this one is durable.
    notify(b.waiters, undefined);
    // Nothing refers to `b` any more (a waiter's afterSync joined the open or flying batch).
    this.recycle(b);
    this.hooks.afterDurable();
    if (next !== undefined) this.step();
    else if (this.dirty) this.flush();
    else this.tellDrained(true);
  }

  /** Empty a told batch and its chunks for reuse. */
  private recycle(b: Batch): void {
    for (let i = 0; i < b.chunks.length; i++) {
      const c = b.chunks[i]!;
      clearArray(c.bufs);
      if (this.chunkPool.length < CHUNK_POOL) this.chunkPool.push(c);
    }
    clearArray(b.chunks);
    clearArray(b.waiters);
    clearArray(b.proven);
    clearArray(b.retired);
    this.spareBatch = b;
  }

  private fail(err: Error, what: string): void {
    const c = this.flying!.chunks[this.flyingChunk]!;
    this.failure = new StoreFailure(
      `journal failed to ${what} ${c.segment.path}: ${err.message}; it accepts no more writes`,
      { cause: err },
    );
    this.hooks.failed(this.failure);
    this.tellDrained(false);
    const flying = this.flying!;
    this.flying = undefined;
    notify(flying.proven, this.failure);
    notify(flying.waiters, this.failure);
    notify(this.open.waiters, this.failure);
    this.open.waiters.length = 0;
  }
}

function isNoSpace(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
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
