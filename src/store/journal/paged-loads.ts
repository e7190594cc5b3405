import { read } from 'node:fs';
import type { MessageLocation, PagedMessage } from '../store.js';
import { StoreCorruptError } from '../store-failure.js';
import type { SyncCallback } from './group-commit.js';
import { checkRecord, describeCheck, isEnqueue } from './record.js';
import type { EnqueueDecoder } from './record-reader.js';
import { JournalLocation, type Segment } from './segment.js';

/** Bytes of other records one paged read may carry to join two wanted ones. */
const MAX_READ_GAP = 16 * 1024;

/** Where a location's record is now (after compaction's forwards). */
export interface Found {
  seg: Segment | undefined;
  offset: number;
  size: number;
}

/** What paged reads need from the journal. */
export interface LoadHost {
  /** Resolve `loc` into `out`; false while its record is not written yet; throws if gone. */
  find(loc: MessageLocation, out: Found): boolean;
  afterSync(cb: SyncCallback): void;
  /** A segment's last read finished: the reclaimer may delete it now. */
  readDone(): void;
  countRead(): void;
  readonly decoder: EnqueueDecoder;
}

/**
 * The journal's asynchronous paged reads (Store.load), so dispatch never blocks on disk.
 * Locations are resolved at once; if any is still in the batch being written, the whole read
 * waits for that batch. Then each run of nearby records in one segment is fetched with one
 * read, and every record is CRC-checked and decoded (private copies). Segments being read are
 * not deleted until the read is done; close waits for reads in flight (`idle`).
 */
export class PagedLoads {
  private readonly host: LoadHost;
  private readonly readAhead: number;
  /** `load` calls not finished yet. */
  private loading = 0;
  private loadsIdle: (() => void) | undefined = undefined;

  constructor(host: LoadHost, readAhead: number) {
    this.host = host;
    this.readAhead = readAhead;
  }

  load(locations: readonly MessageLocation[], queueId: number): Promise<(PagedMessage | Error)[]> {
    const n = locations.length;
    // Copied now: the caller may reuse its location objects.
    const want = new Array<number>(n * 3);
    for (let i = 0; i < n; i++) {
      const l = locations[i]!;
      want[i * 3] = l.segment;
      want[i * 3 + 1] = l.offset;
      want[i * 3 + 2] = l.size;
    }
    this.loading++;
    return new Promise<(PagedMessage | Error)[]>((resolve, reject) =>
      this.startLoad(want, queueId, resolve, reject),
    ).finally(() => {
      if (--this.loading === 0 && this.loadsIdle !== undefined) this.loadsIdle();
    });
  }

  /** Resolves once no read is in flight. */
  idle(): Promise<void> {
    if (this.loading === 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.loadsIdle = resolve));
  }

  private startLoad(
    want: number[],
    queueId: number,
    resolve: (r: (PagedMessage | Error)[]) => void,
    reject: (err: Error) => void,
  ): void {
    const n = want.length / 3;
    const out = new Array<PagedMessage | Error | undefined>(n);
    const segs = new Array<Segment | undefined>(n);
    const offs = new Array<number>(n);
    const sizes = new Array<number>(n);
    const loc = { segment: 0, offset: 0, size: 0 };
    const found: Found = { seg: undefined, offset: 0, size: 0 };
    for (let i = 0; i < n; i++) {
      loc.segment = want[i * 3]!;
      loc.offset = want[i * 3 + 1]!;
      loc.size = want[i * 3 + 2]!;
      let written: boolean;
      try {
        written = this.host.find(loc, found);
      } catch (err) {
        out[i] = err as Error;
        continue;
      }
      if (!written) {
        // Still in the batch being gathered or written: read everything once it is.
        this.host.afterSync((err) => {
          if (err !== undefined) reject(err);
          else this.startLoad(want, queueId, resolve, reject);
        });
        return;
      }
      segs[i] = found.seg;
      offs[i] = found.offset;
      sizes[i] = found.size;
    }
    // Runs of records close together in one segment: one read each. Records far apart (a
    // queue among many interleaved ones) are read alone, never with the bytes in between.
    let pending = 1;
    const finish = (): void => {
      if (--pending !== 0) return;
      resolve(out as (PagedMessage | Error)[]);
    };
    let i = 0;
    while (i < n) {
      const seg = segs[i];
      if (seg === undefined) {
        i++;
        continue;
      }
      const from = offs[i]!;
      let end = from + sizes[i]!;
      let j = i + 1;
      while (
        j < n &&
        segs[j] === seg &&
        offs[j]! >= end &&
        offs[j]! - end <= MAX_READ_GAP &&
        offs[j]! + sizes[j]! - from <= this.readAhead
      ) {
        end = offs[j]! + sizes[j]!;
        j++;
      }
      pending++;
      this.readRun(seg, from, end - from, i, j, offs, sizes, segs, queueId, out, finish);
      i = j;
    }
    finish();
  }

  private readRun(
    seg: Segment,
    from: number,
    span: number,
    first: number,
    last: number,
    offs: number[],
    sizes: number[],
    segs: (Segment | undefined)[],
    queueId: number,
    out: (PagedMessage | Error | undefined)[],
    done: () => void,
  ): void {
    const buf = Buffer.allocUnsafe(span);
    let fd: number;
    try {
      fd = seg.readFd();
    } catch (err) {
      for (let k = first; k < last; k++) if (segs[k] === seg) out[k] = err as Error;
      return done();
    }
    seg.readers++;
    let got = 0;
    const onRead = (err: Error | null, bytes: number): void => {
      if (err === null && bytes > 0 && got + bytes < span) {
        got += bytes;
        return read(fd, buf, got, span - got, from + got, onRead);
      }
      if (err === null) got += bytes;
      if (--seg.readers === 0) this.host.readDone();
      for (let k = first; k < last; k++) {
        const at = offs[k]! - from;
        const size = sizes[k]!;
        if (err !== null) out[k] = err;
        else if (at + size > got)
          out[k] = new StoreCorruptError(seg.path, offs[k]!, 'the file ends inside the record');
        else out[k] = this.decodePaged(buf, at, size, seg, offs[k]!, queueId);
      }
      done();
    };
    this.host.countRead();
    read(fd, buf, 0, span, from, onRead);
  }

  private decodePaged(
    buf: Buffer,
    at: number,
    size: number,
    seg: Segment,
    offset: number,
    queueId: number,
  ): PagedMessage | Error {
    const code = checkRecord(buf, at, at + size, seg.id);
    if (code < 0) return new StoreCorruptError(seg.path, offset, describeCheck(code));
    if (code !== size || !isEnqueue(buf[at + 4])) {
      return new StoreCorruptError(seg.path, offset, 'no message record of that size here');
    }
    const seq = this.host.decoder.seqOf(buf, at, queueId);
    if (seq < 0) {
      return new Error(
        `load: queue ${queueId} is not among the queues of the message record at ` +
          `${seg.path}:${offset}`,
      );
    }
    const message = this.host.decoder.decode(
      buf,
      at,
      size,
      new JournalLocation(seg.id, offset, size),
    );
    return { message, seq };
  }
}
