import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { JournalDamage } from '../store.js';
import { StoreCorruptError } from '../store-failure.js';
import { EMPTY } from './record-reader.js';
import {
  checkRecord,
  describeCheck,
  findBatch,
  HEADER,
  MAX_KIND,
  RecordKind,
  SEAL_SIZE,
  TORN,
  writeSeal,
} from './record.js';
import type { Scanner } from './scanner.js';
import type { Segment } from './segment.js';

/*
 * Recovery's reading of segment files and its damage rules: which bad bytes are a torn tail
 * (cut behind a SEAL) and which are corruption (refused, or skipped with skipCorrupt), and
 * the side files that keep them. Apart from scanner.ts, which applies the records these reads
 * hand it and never sees a file or decides what damage means.
 */

/** Bytes of a segment read and scanned at a time. */
const SCAN_CHUNK = 8 << 20;

/** Torn-tail side files kept (the newest); older ones are deleted at recovery. */
export const KEEP_TORN_FILES = 8;
/** At most this much of a torn tail is copied into its side file. */
const TORN_SIDE_MAX = 1 << 20;
/** The skip-corrupt search tries every offset for a record start over at most this many bytes. */
const RESYNC_MAX = 4 << 20;

/**
 * Reads one segment's records into the Scanner, a chunk at a time, and decides what damage
 * means. In a sealed (older) segment any damage is corruption. In the newest segment, damage
 * followed by a valid BATCH record is corruption too (those bytes were synced, maybe
 * confirmed); damage with none after it is the torn tail of the last, unconfirmed batch: its
 * first bytes are copied to a side file and a SEAL is written where it starts, so the rest
 * stays on disk but is never read again. Corruption refuses to start (StoreCorruptError)
 * unless `skipCorrupt`: then exactly the bad bytes are skipped, copied to a side file and
 * reported.
 */
export class SegmentScan {
  private buf = Buffer.allocUnsafeSlow(SCAN_CHUNK);
  private readonly scan: Scanner;
  private readonly skipCorrupt: boolean;
  private readonly damage: JournalDamage[];
  private readonly key: number;

  constructor(scan: Scanner, skipCorrupt: boolean, damage: JournalDamage[], key: number) {
    this.scan = scan;
    this.skipCorrupt = skipCorrupt;
    this.damage = damage;
    this.key = key;
  }

  release(): void {
    this.buf = EMPTY;
  }

  /** Scan `seg`; returns where its valid bytes end. */
  run(seg: Segment, last: boolean): number {
    const fd = openSync(seg.path, last ? 'r+' : 'r');
    try {
      const size = fstatSync(fd).size;
      let from = 0;
      // What the newest segment holds may still be only in the page cache (a crash between a
      // write and its fdatasync): make it durable before anything builds on it, or a power
      // cut later could tear bytes this start took as whole, inside a segment no longer last.
      if (last) fsyncSync(fd);
      for (;;) {
        const end = this.scanFrom(fd, seg, from, size);
        // Past a SEAL there may be a recycled file's old records: not ours, not damage.
        if (this.scan.sealed || end >= size) return end;
        const code = this.scan.code;
        const rest = readRange(fd, end, size);
        const proof = findBatch(rest, 1, rest.length, seg.id, end, this.key);
        if (last && proof < 0) {
          this.cutTornTail(fd, seg, end, rest, code);
          return end;
        }
        const resume = resyncAt(rest, end, seg.id, proof);
        const to = resume < 0 ? size : resume;
        const bad = rest.subarray(0, to - end);
        const side = `${seg.path}.${end}.corrupt`;
        // A side file holding exactly these bytes records an earlier, deliberate skip: later
        // starts need not be told again (the segment itself is never rewritten).
        const known = sameBytes(side, bad);
        if (!this.skipCorrupt && !known)
          throw new StoreCorruptError(seg.path, end, describeCheck(code));
        if (!known) writeSideFile(side, bad);
        this.damage.push({
          kind: 'corrupt',
          file: seg.path,
          offset: end,
          bytes: to - end,
          sideFile: side,
          known,
        });
        if (resume < 0) return end;
        from = resume;
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Apply the records of `fd` from `from` on until damage, a SEAL or the end of the file;
   * returns where they end. A record cut by a chunk's end is read again with the next chunk
   * (which grows for a record larger than a chunk).
   */
  private scanFrom(fd: number, seg: Segment, from: number, size: number): number {
    const scan = this.scan;
    let buf = this.buf;
    let base = from;
    let filled = 0;
    let end: number;
    for (;;) {
      const want = Math.min(buf.length - filled, size - base - filled);
      let n = 0;
      while (n < want) {
        const r = readSync(fd, buf, filled + n, want - n, base + filled + n);
        if (r === 0) break;
        n += r;
      }
      filled += n;
      const eof = base + filled >= size || n < want;
      const stop = scan.segment(buf, filled, seg, base);
      end = base + stop;
      if (scan.sealed || eof || (scan.code !== 0 && scan.code !== TORN)) break;
      // The chunk ended (maybe inside a record): read on, unless the record would run past
      // the end of the file.
      const need = filled - stop >= 4 ? HEADER + buf.readUInt32LE(stop) : HEADER;
      if (end + need > size) {
        scan.code = TORN;
        break;
      }
      buf.copy(buf, 0, stop, filled);
      base = end;
      filled -= stop;
      if (need > buf.length) {
        const bigger = Buffer.allocUnsafeSlow(need);
        buf.copy(bigger, 0, 0, filled);
        this.buf = buf = bigger;
      }
    }
    return end;
  }

  private cutTornTail(fd: number, seg: Segment, end: number, rest: Buffer, code: number): void {
    const evidence = rest.subarray(0, Math.min(rest.length, TORN_SIDE_MAX));
    let side: string | undefined;
    if (!isZero(evidence)) writeSideFile((side = `${seg.path}.${end}.torn`), evidence);
    // A SEAL at the cut: the bytes stay where they are, and are never read as records.
    const seal = Buffer.allocUnsafe(SEAL_SIZE);
    writeSeal(seal, 0, seg.id, false);
    writeSync(fd, seal, 0, SEAL_SIZE, end);
    fsyncSync(fd);
    this.damage.push({
      kind: 'torn',
      file: seg.path,
      offset: end,
      bytes: rest.length,
      reason: describeCheck(code),
      ...(side !== undefined && { sideFile: side }),
    });
  }
}

/** The bytes of `fd` in [from, to). */
function readRange(fd: number, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let got = 0;
  while (got < out.length) {
    const n = readSync(fd, out, got, out.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

/**
 * Where valid records start again after the damage at file offset `at` (`rest[0]`): right
 * after the damaged record if its length word is intact, else the first offset holding a
 * valid record, else the proven batch start `proof` (or -1: nothing valid follows).
 */
function resyncAt(rest: Buffer, at: number, seed: number, proof: number): number {
  if (rest.length >= HEADER) {
    const next = HEADER + rest.readUInt32LE(0);
    if (next < rest.length && checkRecord(rest, next, rest.length, seed) > 0) return at + next;
  }
  const limit = Math.min(rest.length, RESYNC_MAX, proof < 0 ? Infinity : proof - at);
  for (let i = 1; i < limit; i++) {
    const k = rest[i + 4];
    if (k === undefined || k < RecordKind.DEF_PUT || k > MAX_KIND) continue;
    if (checkRecord(rest, i, rest.length, seed) > 0) return at + i;
  }
  return proof;
}

/** Write `bytes` to a new file `path` and make it and its directory entry durable. */
function writeSideFile(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

function sameBytes(path: string, bytes: Buffer): boolean {
  try {
    return readFileSync(path).equals(bytes);
  } catch {
    return false;
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Keep the newest `keep` side files ending in `suffix` (by modification time). */
export function pruneSideFiles(dir: string, suffix: string, keep: number): void {
  const files = readdirSync(dir)
    .filter((n) => n.endsWith(suffix))
    .map((n) => ({ path: join(dir, n), t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const f of files.slice(keep)) rmSync(f.path, { force: true });
}
