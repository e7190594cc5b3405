/**
 * Journal record layout. All integers little-endian.
 *
 *   offset 0  u32 length   payload bytes (the 9-byte header not included); 0 = end of log
 *   offset 4  u8  kind     RecordKind below
 *   offset 5  u32 crc      CRC32C of the kind byte followed by the payload, started from the
 *                          segment number instead of 0 (see "Recycling" below)
 *   offset 9  payload
 *
 * Payloads (a "seq" is 8 bytes: u32 high word, u32 low word; a "pair" is u32 queueId + seq):
 *
 *   DEF_PUT    u32 keyLength | key utf8 | value as tagged JSON utf8 (rest of payload)
 *   DEF_DELETE u32 keyLength | key utf8
 *   ENQUEUE_T  u8 priority | f64 expiresAt | f64 timestamp | u16 n | n pairs
 *              | u16 exchangeLength | exchange | u16 routingKeyLength | routingKey
 *              | u32 propertiesLength | properties | body (rest of payload)
 *              (timestamp: wall-clock ms at which the broker accepted the message; every
 *              writer uses this kind)
 *   ENQUEUE    the same without the timestamp (journals written before it existed): still
 *              read everywhere an ENQUEUE_T is, with timestamp 0 (unknown). Compaction keeps
 *              a record's kind.
 *   SETTLE     u32 n | n pairs          (every settle of one flush in one record)
 *   FAILURES   u32 n | n × (pair | u32 failures)   (the message at (queue, seq) has failed
 *              that many deliveries so far; one record per flush. Recovery keeps the highest
 *              per live message and ignores entries of settled ones. Compaction writes the
 *              count of every message it copies again after the copy.)
 *   DEDUP      u32 n | n × (u32 scope | seq order | f64 expiresAt | u32 idLength | id utf8)
 *              (deduplication id `id` of the queue or exchange `scope` seen until expiresAt,
 *              0 = never; `order` numbers ids in the order they were first recorded, kept
 *              when the entry is written again, so recovery hands them back oldest first.
 *              Written inside the TXN of the enqueue it guards; live entries pin their
 *              segment like watermarks and are re-appended, in one record per flush, before
 *              it goes. Recovery keeps the entry with the highest order per (scope, id) and
 *              drops expired ones.)
 *   PURGE      one pair: queueId and uptoSeq
 *   WATERMARK  u32 n | n pairs          (delivered-up-to seq per queue, one record per flush)
 *   SEAL       u32 segment number | u8 clean   (last record of a segment; bytes after it are
 *              ignored. clean = 1 only for the seal close() writes: a clean shutdown is recorded,
 *              never inferred. Seals of journals before this flag have no clean byte.)
 *   BATCH      u32 own offset | u32 bytes | u32 tag   (first record of every batch's bytes in a
 *              segment, and a marker written after a sync when nothing else is pending; tag is
 *              the CRC32C of the first 8 payload bytes started from the journal's secret key
 *              XOR the segment number, so a look-alike inside a message body never passes)
 *   TXN        whole ENQUEUE_T (ENQUEUE in older journals), SETTLE, PURGE, WATERMARK,
 *              FAILURES and DEDUP records, one after the other: an atomic commit. Its CRC covers them
 *              all, so a torn or damaged commit fails as one record and recovery drops it
 *              whole; each inner record keeps its own header and CRC, so a message inside one
 *              is read back at its own offset like any other. A TXN never straddles a segment
 *              (the segment rolls before one that does not fit).
 *
 * No payload is empty, so a zero length word can only be a zero-filled (never-written) tail.
 * A record's position is its segment number and the offset of its header.
 *
 * Sync proof: a batch is written only after the previous one is durable, and the BATCH marker
 * that follows a batch's bytes is written only once they are (before any confirm goes out).
 * So a valid BATCH record after damaged bytes proves those bytes were synced, and maybe
 * confirmed: that is corruption, not a torn write. Damage with no BATCH record after it lies in
 * the newest, unconfirmed batch: a torn tail.
 *
 * Recycling: a deleted segment's file is renamed and reused for a later segment, because
 * overwriting allocated blocks makes fdatasync much cheaper than growing a file. Its old
 * records stay behind our tail, but their CRCs were started from the old segment number, so
 * they never validate in the new one: scanning stops at the first of them as at a torn tail.
 * A segment is closed with a SEAL record when it rolls over or the journal closes, so a
 * sealed segment's stale bytes are never mistaken for damage.
 */
import { crc32c, crc32cByte } from './crc32c.js';

export const RecordKind = {
  DEF_PUT: 1,
  DEF_DELETE: 2,
  ENQUEUE: 3,
  SETTLE: 4,
  PURGE: 5,
  WATERMARK: 6,
  SEAL: 7,
  BATCH: 8,
  TXN: 9,
  ENQUEUE_T: 10,
  FAILURES: 11,
  DEDUP: 12,
} as const;
/** The highest kind a record may carry. */
export const MAX_KIND = RecordKind.DEDUP;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export const HEADER = 9;
export const SEAL_SIZE = HEADER + 5;
export const BATCH_SIZE = HEADER + 12;
/** Bytes of an (old) ENQUEUE payload before its target pairs. */
export const ENQUEUE_FIXED = 11;
/** Bytes of an ENQUEUE_T payload before its target pairs (ENQUEUE's plus the timestamp). */
export const ENQUEUE_T_FIXED = 19;
export const PAIR = 12;
/** One FAILURES entry: a pair and a u32 count. */
export const FAILURE_ENTRY = PAIR + 4;
/** One DEDUP entry before its id bytes: scope, order, expiresAt, id length. */
export const DEDUP_FIXED = 4 + 8 + 8 + 4;

/** Whether `kind` is a message record (ENQUEUE_T, or ENQUEUE of an older journal). */
export function isEnqueue(kind: number | undefined): boolean {
  return kind === RecordKind.ENQUEUE_T || kind === RecordKind.ENQUEUE;
}

/** Bytes before the target pairs in a message record of `kind`; its u16 n is the last two. */
export function enqueueFixed(kind: number): number {
  return kind === RecordKind.ENQUEUE_T ? ENQUEUE_T_FIXED : ENQUEUE_FIXED;
}

/** The timestamp of the message record at `rec[at...]`: 0 (unknown) in an old ENQUEUE. */
export function enqueueTimestamp(rec: Buffer, at: number): number {
  return rec[at + 4] === RecordKind.ENQUEUE_T ? rec.readDoubleLE(at + HEADER + 9) : 0;
}
/** Refuse single records past this size (a length word beyond it is treated as damage). */
export const MAX_PAYLOAD = 0x7fff_0000;

const TWO32 = 4294967296;

export function writeSeq(buf: Buffer, off: number, seq: number): void {
  buf.writeUInt32LE(Math.floor(seq / TWO32), off);
  buf.writeUInt32LE(seq >>> 0, off + 4);
}

export function readSeq(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) * TWO32 + buf.readUInt32LE(off + 4);
}

/**
 * Fill in the header of a record for segment `seed` whose payload is
 * `buf[start + HEADER, end)`, optionally continued by `tail` (a large body written as its own
 * iovec). Returns the record size.
 */
export function sealRecord(
  buf: Buffer,
  start: number,
  end: number,
  kind: RecordKind,
  seed: number,
  tail?: Buffer,
): number {
  const tailLength = tail === undefined ? 0 : tail.length;
  const payload = end - start - HEADER + tailLength;
  buf.writeUInt32LE(payload, start);
  buf[start + 4] = kind;
  let crc = crc32c(buf, start + HEADER, end, crc32cByte(kind, seed >>> 0));
  if (tail !== undefined) crc = crc32c(tail, 0, tailLength, crc);
  buf.writeUInt32LE(crc, start + 5);
  return HEADER + payload;
}

/** Encode a SEAL record for segment `seed` at `buf[p, p + SEAL_SIZE)`. */
export function writeSeal(buf: Buffer, p: number, seed: number, clean: boolean): number {
  buf.writeUInt32LE(seed >>> 0, p + HEADER);
  buf[p + HEADER + 4] = clean ? 1 : 0;
  return sealRecord(buf, p, p + SEAL_SIZE, RecordKind.SEAL, seed);
}

/** Whether the SEAL record at `off` was written by a clean close. */
export function sealIsClean(buf: Buffer, off: number): boolean {
  return buf.readUInt32LE(off) === SEAL_SIZE - HEADER && buf[off + HEADER + 4] === 1;
}

/**
 * Encode a BATCH record at `buf[p, p + BATCH_SIZE)`, for file offset `offset` of `seed`;
 * `key` is the journal's secret (journal-key.ts).
 */
export function writeBatch(
  buf: Buffer,
  p: number,
  seed: number,
  offset: number,
  bytes: number,
  key: number,
): number {
  const q = p + HEADER;
  buf.writeUInt32LE(offset, q);
  buf.writeUInt32LE(bytes, q + 4);
  buf.writeUInt32LE(batchTag(buf, q, seed, key), q + 8);
  return sealRecord(buf, p, p + BATCH_SIZE, RecordKind.BATCH, seed);
}

function batchTag(buf: Buffer, payload: number, seed: number, key: number): number {
  return crc32c(buf, payload, payload + 8, (key ^ seed) >>> 0);
}

/** The first four bytes of every BATCH record plus its kind: what a resync scan looks for. */
export const BATCH_PREFIX = Buffer.from([BATCH_SIZE - HEADER, 0, 0, 0, RecordKind.BATCH]);

/**
 * File offset of the first valid BATCH record of segment `seed` in `buf[from, end)`, where
 * `buf[0]` is at file offset `base`; -1 if none. It must name its own offset and carry the
 * tag only the journal's key gives, so bytes that merely look like one are not taken for it.
 */
export function findBatch(
  buf: Buffer,
  from: number,
  end: number,
  seed: number,
  base: number,
  key: number,
): number {
  let i = from;
  for (;;) {
    i = buf.indexOf(BATCH_PREFIX, i);
    if (i < 0 || i + BATCH_SIZE > end) return -1;
    const q = i + HEADER;
    if (
      checkRecord(buf, i, end, seed) === BATCH_SIZE &&
      buf.readUInt32LE(q) === base + i &&
      buf.readUInt32LE(q + 8) === batchTag(buf, q, seed, key)
    )
      return base + i;
    i++;
  }
}

/**
 * Check the record at `off` in `buf[0, end)` of segment `seed`. Returns its total size, or a
 * negative code: END (zero length word: a zero-filled tail), TORN (the record runs past
 * `end`), BAD (kind or CRC wrong, which includes a stale record of a recycled file).
 */
export const END = -1;
export const TORN = -2;
export const BAD = -3;
export function checkRecord(buf: Buffer, off: number, end: number, seed: number): number {
  if (end - off < HEADER) return end - off >= 4 && buf.readUInt32LE(off) === 0 ? END : TORN;
  const length = buf.readUInt32LE(off);
  if (length === 0) return END;
  if (length > MAX_PAYLOAD || length > end - off - HEADER) return TORN;
  const kind = buf[off + 4]!;
  if (kind < RecordKind.DEF_PUT || kind > MAX_KIND) return BAD;
  const crc = crc32c(buf, off + HEADER, off + HEADER + length, crc32cByte(kind, seed >>> 0));
  return crc === buf.readUInt32LE(off + 5) ? HEADER + length : BAD;
}

export function describeCheck(code: number): string {
  if (code === END) return 'zero-filled bytes where a record should start';
  if (code === TORN) return 'a record runs past the end of the file (torn write)';
  return 'a record fails its CRC32C check or has an unknown kind';
}

/** Offset of the body inside a message record that starts at `off`. */
export function enqueueBodyStart(rec: Buffer, off: number): number {
  let p = off + HEADER + enqueueFixed(rec[off + 4]!) - 2;
  p += 2 + rec.readUInt16LE(p) * PAIR;
  p += 2 + rec.readUInt16LE(p);
  p += 2 + rec.readUInt16LE(p);
  return p + 4 + rec.readUInt32LE(p);
}

/** Number of (queue, seq) pairs in the message record at offset 0 of `rec`. */
export function enqueueTargetCount(rec: Buffer): number {
  return rec.readUInt16LE(HEADER + enqueueFixed(rec[4]!) - 2);
}

/** Offset of the first (queue, seq) pair in the message record at offset 0 of `rec`. */
export function enqueuePairsStart(rec: Buffer): number {
  return HEADER + enqueueFixed(rec[4]!);
}

/**
 * The message record `rec` (either kind, kept), re-sealed for segment `seed`, keeping only
 * the targets in `pairs` ([queueId, seq, ...]) when some of its queues have settled it. For
 * compaction.
 */
export function relocate(rec: Buffer, pairs: readonly number[] | null, seed: number): Buffer {
  const kind = rec[4] as RecordKind;
  const n0 = enqueueTargetCount(rec);
  const n = pairs === null ? n0 : pairs.length >>> 1;
  if (n === n0) {
    const out = Buffer.from(rec);
    sealRecord(out, 0, out.length, kind, seed);
    return out;
  }
  const listStart = HEADER + enqueueFixed(kind);
  const rest = listStart + n0 * PAIR;
  const out = Buffer.allocUnsafe(rec.length - (n0 - n) * PAIR);
  rec.copy(out, 0, 0, listStart);
  out.writeUInt16LE(n, listStart - 2);
  let p = listStart;
  for (let i = 0; i < n * 2; i += 2) {
    out.writeUInt32LE(pairs![i]!, p);
    writeSeq(out, p + 4, pairs![i + 1]!);
    p += PAIR;
  }
  rec.copy(out, p, rest);
  sealRecord(out, 0, out.length, kind, seed);
  return out;
}
