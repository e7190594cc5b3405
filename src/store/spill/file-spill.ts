import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Spill, SpillRecord, SpillStats, SpillStream } from '../spill.js';

export interface FileSpillOptions {
  /** Directory for spill files: emptied now; with `temp`, made under os.tmpdir() instead. */
  dir?: string;
  /** Roll over to a new file past this many bytes (tests use tiny ones). */
  fileSize?: number;
  /** Write buffer and read-ahead size per spilling queue. */
  chunkSize?: number;
  /** A write or read failed (reported once per failing stretch). */
  onError?: (err: unknown, context: string) => void;
}

const DEFAULT_FILE_SIZE = 16 * 1024 * 1024;
const DEFAULT_CHUNK = 256 * 1024;
/**
 * u32 record size, u8 flags, u8 priority, f64 expiresAt, u16+u16 name lengths, u32+u32
 * properties and body lengths, f64 timestamp. (Spill files never outlive the process, so the
 * layout may change freely.)
 */
const HEADER = 4 + 1 + 1 + 8 + 2 + 2 + 4 + 4 + 8;
const PERSISTENT = 1;

/**
 * Spill files, one sequence per queue: each queue reads its own records strictly in order,
 * so reads are sequential (read-ahead) and a file can go as soon as the reader is past it.
 * I/O is synchronous and unsynced: pages land in the kernel's cache, which does not count
 * toward the broker's RSS. A write that fails (disk full) keeps its bytes in memory and is
 * retried with the next write, so nothing is lost while the process lives.
 */
export class FileSpill implements Spill {
  readonly dir: string;
  private readonly temp: boolean;
  readonly fileSize: number;
  readonly chunkSize: number;
  onError: (err: unknown, context: string) => void;
  private readonly streams = new Set<FileSpillStream>();
  files = 0;
  bytesWritten = 0;
  /** Numbers the streams: one queue may have several (a priority queue: one per level). */
  streamNo = 0;

  constructor(options: FileSpillOptions = {}) {
    this.fileSize = options.fileSize ?? DEFAULT_FILE_SIZE;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
    this.onError = options.onError ?? (() => {});
    if (options.dir === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'baton-spill-'));
      this.temp = true;
    } else {
      this.dir = options.dir;
      this.temp = false;
      // Spilled messages are transient: whatever a previous run left is garbage.
      rmSync(this.dir, { recursive: true, force: true });
      mkdirSync(this.dir, { recursive: true });
    }
  }

  stream(queueId: number): SpillStream {
    const s = new FileSpillStream(this, queueId);
    this.streams.add(s);
    return s;
  }

  /** A stream dropped its last file; it stays usable and re-registers when it spills again. */
  forget(s: FileSpillStream): void {
    this.streams.delete(s);
  }

  track(s: FileSpillStream): void {
    this.streams.add(s);
  }

  stats(): SpillStats {
    let messages = 0;
    for (const s of this.streams) messages += s.length;
    return { files: this.files, messages, bytesWritten: this.bytesWritten };
  }

  close(): Promise<void> {
    for (const s of [...this.streams]) s.clear();
    this.streams.clear();
    if (this.temp) rmSync(this.dir, { recursive: true, force: true });
    return Promise.resolve();
  }
}

/** One spill file. Bytes [0, flushed) are on disk; then `pending`; then the write buffer. */
interface SpillFile {
  path: string;
  fd: number;
  flushed: number;
  pending: Buffer[];
  pendingBytes: number;
  /** Logical size: flushed + pending + (for the file being written) the write buffer. */
  size: number;
  records: number;
  /** Records shifted out of this file so far. */
  taken: number;
  /** A read failed: the rest of this file's records come back as undefined. */
  lost: boolean;
  created: boolean;
}

class FileSpillStream implements SpillStream {
  private readonly spill: FileSpill;
  private readonly queueId: number;
  private readonly streamNo: number;
  private readonly files: SpillFile[] = [];
  private fileNo = 0;
  length = 0;
  private buf: Buffer | undefined;
  private bufLen = 0;
  private readPos = 0;
  private ra: Buffer | undefined;
  private raFile: SpillFile | undefined;
  private raStart = 0;
  private raEnd = 0;
  private failing = false;

  constructor(spill: FileSpill, queueId: number) {
    this.spill = spill;
    this.queueId = queueId;
    this.streamNo = ++spill.streamNo;
  }

  append(m: SpillRecord): void {
    const ex = Buffer.byteLength(m.exchange);
    const rk = Buffer.byteLength(m.routingKey);
    const size = HEADER + ex + rk + m.properties.length + m.body.length;
    let f = this.files[this.files.length - 1];
    if (f === undefined || (f.size + size > this.spill.fileSize && f.size !== 0)) {
      if (f !== undefined) this.seal(f);
      f = this.newFile();
    }
    const chunk = this.spill.chunkSize;
    if (this.bufLen + size > chunk) this.flush(f);
    let target: Buffer;
    let at: number;
    if (size > chunk) {
      // Bigger than a chunk: its own buffer, queued behind whatever is pending.
      target = Buffer.allocUnsafe(size);
      at = 0;
    } else {
      this.buf ??= Buffer.allocUnsafe(chunk);
      target = this.buf;
      at = this.bufLen;
      this.bufLen += size;
    }
    target.writeUInt32LE(size, at);
    target[at + 4] = m.persistent ? PERSISTENT : 0;
    target[at + 5] = m.priority;
    target.writeDoubleLE(m.expiresAt, at + 6);
    target.writeUInt16LE(ex, at + 14);
    target.writeUInt16LE(rk, at + 16);
    target.writeUInt32LE(m.properties.length, at + 18);
    target.writeUInt32LE(m.body.length, at + 22);
    target.writeDoubleLE(m.timestamp, at + 26);
    let p = at + HEADER;
    p += target.write(m.exchange, p, 'utf8');
    p += target.write(m.routingKey, p, 'utf8');
    p += m.properties.copy(target, p);
    m.body.copy(target, p);
    f.size += size;
    f.records++;
    this.length++;
    if (target !== this.buf) {
      f.pending.push(target);
      f.pendingBytes += size;
      this.flush(f);
    }
  }

  shift(): SpillRecord | undefined {
    let f = this.files[0]!;
    while (f.taken === f.records) {
      // Everything of this (sealed) file was read: it is no longer needed.
      this.dropFirst();
      f = this.files[0]!;
    }
    f.taken++;
    this.length--;
    let rec: SpillRecord | undefined;
    if (!f.lost) {
      try {
        rec = this.read(f);
      } catch (err) {
        f.lost = true;
        this.spill.onError(
          err,
          `transient spill of queue ${this.queueId}: ${f.path} unreadable, ` +
            `${f.records - f.taken + 1} messages lost`,
        );
      }
    }
    if (this.length === 0) this.clear();
    else if (f.taken === f.records && this.files.length > 1) this.dropFirst();
    return rec;
  }

  clear(): void {
    for (const f of this.files) this.removeFile(f);
    this.files.length = 0;
    this.length = 0;
    this.buf = undefined;
    this.bufLen = 0;
    this.readPos = 0;
    this.ra = undefined;
    this.raFile = undefined;
    this.spill.forget(this);
  }

  // ---- writing --------------------------------------------------------------------------

  private newFile(): SpillFile {
    if (this.files.length === 0) this.spill.track(this);
    const f: SpillFile = {
      path: join(this.spill.dir, `q${this.queueId}-${this.streamNo}-${++this.fileNo}.spill`),
      fd: -1,
      flushed: 0,
      pending: [],
      pendingBytes: 0,
      size: 0,
      records: 0,
      taken: 0,
      lost: false,
      created: false,
    };
    this.files.push(f);
    return f;
  }

  /** The file is full: write its buffer out and give the buffer to the next file. */
  private seal(f: SpillFile): void {
    this.flush(f);
    if (f.pending.length === 0 && f !== this.files[0] && f.fd >= 0) {
      closeSync(f.fd);
      f.fd = -1;
    }
  }

  /** Move the write buffer to `pending` and write out everything pending, in order. */
  private flush(f: SpillFile): void {
    // After a failure, files sealed meanwhile may still hold unwritten bytes: older first.
    if (this.failing)
      for (const g of this.files) if (g !== f && g.pending.length !== 0) this.writePending(g);
    if (this.bufLen !== 0) {
      const buf = this.buf!;
      f.pending.push(buf.subarray(0, this.bufLen));
      f.pendingBytes += this.bufLen;
      this.bufLen = 0;
      // The buffer is reused only if this write goes through (see below).
      this.buf = undefined;
      if (this.writePending(f) && f.pending.length === 0) this.buf = buf;
      return;
    }
    this.writePending(f);
  }

  private writePending(f: SpillFile): boolean {
    try {
      if (f.fd < 0) {
        f.fd = openSync(f.path, f.created ? 'r+' : 'w+');
        if (!f.created) this.spill.files++;
        f.created = true;
      }
      while (f.pending.length !== 0) {
        const b = f.pending[0]!;
        let done = 0;
        while (done < b.length) done += writeSync(f.fd, b, done, b.length - done, f.flushed + done);
        f.flushed += b.length;
        f.pendingBytes -= b.length;
        this.spill.bytesWritten += b.length;
        f.pending.shift();
      }
      this.failing = false;
      return true;
    } catch (err) {
      // Keep the bytes (pending) and try again with the next flush.
      if (!this.failing)
        this.spill.onError(
          err,
          `transient spill of queue ${this.queueId}: write failed, keeping messages in memory`,
        );
      this.failing = true;
      return false;
    }
  }

  // ---- reading --------------------------------------------------------------------------

  private read(f: SpillFile): SpillRecord {
    const pos = this.readPos;
    let src: Buffer;
    let at: number;
    if (pos < f.flushed) {
      const size = this.readAhead(f, pos, HEADER);
      src = this.ra!;
      at = pos - this.raStart;
      if (this.raEnd - pos < size) {
        this.readAhead(f, pos, size);
        src = this.ra!;
        at = pos - this.raStart;
      }
    } else {
      // Not written out yet: a pending chunk or the write buffer.
      let o = pos - f.flushed;
      src = this.buf!;
      for (const b of f.pending) {
        if (o < b.length) {
          src = b;
          break;
        }
        o -= b.length;
      }
      at = o;
    }
    const size = src.readUInt32LE(at);
    const flags = src[at + 4]!;
    const priority = src[at + 5]!;
    const expiresAt = src.readDoubleLE(at + 6);
    const ex = src.readUInt16LE(at + 14);
    const rk = src.readUInt16LE(at + 16);
    const pl = src.readUInt32LE(at + 18);
    const bl = src.readUInt32LE(at + 22);
    const timestamp = src.readDoubleLE(at + 26);
    let p = at + HEADER;
    const exchange = src.toString('utf8', p, (p += ex));
    const routingKey = src.toString('utf8', p, (p += rk));
    // Private copies: the source buffer is reused.
    const properties = Buffer.from(src.subarray(p, (p += pl)));
    const body = Buffer.from(src.subarray(p, p + bl));
    this.readPos = pos + size;
    return {
      exchange,
      routingKey,
      properties,
      body,
      priority,
      expiresAt,
      timestamp,
      persistent: (flags & PERSISTENT) !== 0,
    };
  }

  /**
   * Make sure the read-ahead buffer holds at least `need` bytes at `pos` of `f` (from disk),
   * refilling it from `pos` if not. Returns the record size found at `pos`.
   */
  private readAhead(f: SpillFile, pos: number, need: number): number {
    if (this.raFile !== f || pos < this.raStart || this.raEnd - pos < need) {
      if (f.fd < 0) f.fd = openSync(f.path, 'r+');
      const want = Math.max(need, this.spill.chunkSize);
      if (this.ra === undefined || this.ra.length < want) this.ra = Buffer.allocUnsafe(want);
      const n = Math.min(want, f.flushed - pos);
      let got = 0;
      while (got < n) {
        const r = readSync(f.fd, this.ra, got, n - got, pos + got);
        if (r === 0) throw new Error(`${f.path}: unexpected end of file at ${pos + got}`);
        got += r;
      }
      this.raFile = f;
      this.raStart = pos;
      this.raEnd = pos + n;
    }
    return this.ra!.readUInt32LE(pos - this.raStart);
  }

  private dropFirst(): void {
    const f = this.files.shift()!;
    this.removeFile(f);
    this.readPos = 0;
    this.raFile = undefined;
  }

  private removeFile(f: SpillFile): void {
    if (f.fd >= 0) {
      try {
        closeSync(f.fd);
      } catch {
        // Already gone; nothing to release.
      }
      f.fd = -1;
    }
    if (f.created) {
      f.created = false;
      this.spill.files--;
      try {
        unlinkSync(f.path);
      } catch {
        // Already removed (an operator cleaning up): nothing left to release.
      }
    }
  }
}
