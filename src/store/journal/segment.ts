import { closeSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageLocation } from '../store.js';

const NAME = /^(\d{20})\.seg$/;
const SPARE = /^(\d{20})\.spare$/;

/** `00000000000000000042.seg` */
export function segmentName(id: number): string {
  return `${String(id).padStart(20, '0')}.seg`;
}

/**
 * A deleted segment kept for reuse, named after the last segment it was: segment numbers only
 * grow past it, so its stale records (CRCs started from older numbers) never validate again.
 */
export function spareName(id: number): string {
  return `${String(id).padStart(20, '0')}.spare`;
}

export interface JournalFiles {
  /** Segment ids, ascending. */
  segments: number[];
  /** Spare files (full names), newest last. */
  spares: string[];
  /** Highest number any segment or spare carries. */
  maxId: number;
}

/** The segments and spares in `dir`. Other files are ignored. */
export function listJournalFiles(dir: string): JournalFiles {
  const segments: number[] = [];
  const spareIds: number[] = [];
  for (const name of readdirSync(dir)) {
    let m = NAME.exec(name);
    if (m !== null) segments.push(Number(m[1]));
    else if ((m = SPARE.exec(name)) !== null) spareIds.push(Number(m[1]));
  }
  segments.sort((a, b) => a - b);
  spareIds.sort((a, b) => a - b);
  const maxId = Math.max(0, ...segments, ...spareIds);
  return { segments, spares: spareIds.map(spareName), maxId };
}

/**
 * Where a message's ENQUEUE record lives, plus what deletion and compaction need: the record
 * size, how many queues still hold it and, for a message routed to several queues, which ones
 * ([queueId, seq, ...], live targets only). The core treats it as an opaque MessageLocation.
 */
export class JournalLocation implements MessageLocation {
  segment: number;
  offset: number;
  size: number;
  refs: number;
  targets: number[] | null;
  constructor(
    segment: number,
    offset: number,
    size: number,
    refs: number,
    targets: number[] | null,
  ) {
    this.segment = segment;
    this.offset = offset;
    this.size = size;
    this.refs = refs;
    this.targets = targets;
  }
}

/**
 * One segment file and its bookkeeping. `size` counts every byte appended (some may still sit
 * in the pending batch), `written` the bytes handed to the kernel, `synced` the durable ones.
 */
export class Segment {
  readonly id: number;
  readonly path: string;
  /** Read-write for the segments this process created, read-only (opened on demand) otherwise. */
  fd = -1;
  size = 0;
  written = 0;
  synced = 0;
  /** Live (queue, message) references to ENQUEUE records in this segment. */
  live = 0;
  /** Bytes of ENQUEUE records here that at least one queue still holds. */
  liveBytes = 0;
  /** Definitions and delivered-watermarks whose latest record is here. */
  pins = 0;
  /**
   * The batch holding the latest record that superseded something here (a settle, a purge, a
   * compaction copy). The segment may go once that batch is durable and nothing is live.
   */
  supersededIn = 0;
  /** Every location ever appended here; compaction walks it and skips the dead or moved. */
  locs: JournalLocation[] = [];

  constructor(dir: string, id: number) {
    this.id = id;
    this.path = join(dir, segmentName(id));
  }

  /** A descriptor to read from, opening the file read-only on first use. */
  readFd(): number {
    if (this.fd < 0) this.fd = openSync(this.path, 'r');
    return this.fd;
  }

  closeFd(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** The latest DEF_PUT of a key: its payload (re-appended verbatim) and where it lives. */
export class DefEntry {
  readonly payload: Buffer;
  segment: number;
  constructor(payload: Buffer, segment: number) {
    this.payload = payload;
    this.segment = segment;
  }
}

/** A queue's delivered-watermark; `segment` is -1 until its record is appended. */
export class MarkEntry {
  readonly queueId: number;
  seq: number;
  segment: number;
  /** Waiting in the open batch's watermark record. */
  dirty = false;
  /** Dropped by a purge while dirty: not written, not pinned. */
  removed = false;
  constructor(queueId: number, seq: number, segment: number) {
    this.queueId = queueId;
    this.seq = seq;
    this.segment = segment;
  }
}
