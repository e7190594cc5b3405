import type { StoredMessage, StoreOp } from '../store.js';
import {
  DEDUP_FIXED,
  ENQUEUE_T_FIXED,
  FAILURE_ENTRY,
  HEADER,
  PAIR,
  RecordKind,
  sealRecord,
  writeSeq,
} from './record.js';

/*
 * The journal's record encoders: each writes one record (or one entry of one) into a batch
 * buffer the caller sized with `opBound`, and returns where it ends. record-reader.ts reads
 * them back; record.ts holds the layout they share.
 */

/** u16 length + UTF-8 bytes; the caller reserved 3 bytes per UTF-16 unit. */
export function writeShortString(b: Buffer, p: number, s: string): number {
  const n = s.length === 0 ? 0 : b.write(s, p + 2);
  if (n > 0xffff) throw new RangeError('exchange and routing key are limited to 65535 bytes');
  b.writeUInt16LE(n, p);
  return p + 2 + n;
}

/** Upper bound of the bytes `commit` encodes for one op (3 UTF-8 bytes per UTF-16 unit). */
export function opBound(o: StoreOp): number {
  if (o.op === 'enqueue') {
    const m = o.message;
    return (
      HEADER +
      ENQUEUE_T_FIXED +
      o.queueIds.length * PAIR +
      8 +
      3 * (m.exchange.length + m.routingKey.length) +
      m.properties.length +
      m.body!.length
    );
  }
  if (o.op === 'purge') return HEADER + PAIR;
  if (o.op === 'failures') return HEADER + 4 + FAILURE_ENTRY;
  if (o.op === 'dedup') return HEADER + 4 + DEDUP_FIXED + 3 * o.id.length;
  return HEADER + 4 + PAIR;
}

/** One DEDUP entry at `b[p...]` (the caller reserved 3 bytes per UTF-16 unit of the id). */
export function encodeDedup(
  b: Buffer,
  p: number,
  scope: number,
  order: number,
  expiresAt: number,
  id: string,
): number {
  b.writeUInt32LE(scope, p);
  writeSeq(b, p + 4, order);
  b.writeDoubleLE(expiresAt, p + 12);
  const n = id.length === 0 ? 0 : b.write(id, p + DEDUP_FIXED);
  b.writeUInt32LE(n, p + 20);
  return p + DEDUP_FIXED + n;
}

/** A whole ENQUEUE_T record at `b[p...]`, body inline; returns where it ends. */
export function encodeEnqueue(
  b: Buffer,
  p: number,
  m: StoredMessage,
  queueIds: readonly number[],
  seqs: readonly number[],
  seed: number,
): number {
  const start = p;
  const n = queueIds.length;
  p += HEADER;
  b[p] = m.priority;
  b.writeDoubleLE(m.expiresAt, p + 1);
  b.writeDoubleLE(m.timestamp, p + 9);
  b.writeUInt16LE(n, p + 17);
  p += ENQUEUE_T_FIXED;
  for (let i = 0; i < n; i++) {
    b.writeUInt32LE(queueIds[i]!, p);
    writeSeq(b, p + 4, seqs[i]!);
    p += PAIR;
  }
  p = writeShortString(b, p, m.exchange);
  p = writeShortString(b, p, m.routingKey);
  b.writeUInt32LE(m.properties.length, p);
  b.set(m.properties, p + 4);
  p += 4 + m.properties.length;
  b.set(m.body!, p);
  p += m.body!.length;
  sealRecord(b, start, p, RecordKind.ENQUEUE_T, seed);
  return p;
}

/** A SETTLE or WATERMARK record of one pair at `b[p...]`; returns where it ends. */
export function encodePairs(
  b: Buffer,
  p: number,
  kind: RecordKind,
  queueId: number,
  seq: number,
  seed: number,
): number {
  b.writeUInt32LE(1, p + HEADER);
  b.writeUInt32LE(queueId, p + HEADER + 4);
  writeSeq(b, p + HEADER + 8, seq);
  return p + sealRecord(b, p, p + HEADER + 4 + PAIR, kind, seed);
}
