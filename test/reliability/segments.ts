// A test-side reader of the journal's segment layout (src/store/journal/record.ts): where each
// record starts and ends and which message id an ENQUEUE carries, so the corruption tests know
// exactly which confirmed messages a cut or a flipped bit may take away. No CRC check here: the
// files are copies of a healthy journal before the test damages them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const HEADER = 9;
/** ENQUEUE_T (10) is what the journal writes; ENQUEUE (3) is in journals written before. */
export const KIND = { ENQUEUE: 3, SEAL: 7, BATCH: 8, ENQUEUE_T: 10 } as const;

export interface RecordSpan {
  start: number;
  end: number;
  kind: number;
  /** message-id of an ENQUEUE record (read from the producer's JSON body). */
  id?: string;
}

export interface SegmentMap {
  name: string;
  path: string;
  size: number;
  records: RecordSpan[];
  /** End of the last record (the SEAL included). */
  dataEnd: number;
  sealed: boolean;
}

export function segmentNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^\d{20}\.seg$/.test(n))
    .sort();
}

export function mapSegment(dir: string, name: string): SegmentMap {
  const path = join(dir, name);
  const buf = readFileSync(path);
  const records: RecordSpan[] = [];
  let off = 0;
  let sealed = false;
  while (off + HEADER <= buf.length) {
    const length = buf.readUInt32LE(off);
    if (length === 0 || off + HEADER + length > buf.length) break;
    const kind = buf[off + 4]!;
    const end = off + HEADER + length;
    const r: RecordSpan = { start: off, end, kind };
    if (kind === KIND.ENQUEUE || kind === KIND.ENQUEUE_T) {
      const m = /"id":"([^"]+)"/.exec(buf.subarray(off + HEADER, end).toString('latin1'));
      if (m) r.id = m[1]!;
    }
    records.push(r);
    off = end;
    if (kind === KIND.SEAL) {
      sealed = true;
      break;
    }
  }
  return { name, path, size: buf.length, records, dataEnd: off, sealed };
}

/** Message ids in records that overlap [from, to) of a segment. */
export function idsIn(seg: SegmentMap, from: number, to: number): string[] {
  return seg.records
    .filter((r) => r.end > from && r.start < to && r.id !== undefined)
    .map((r) => r.id!);
}

export function recordAt(seg: SegmentMap, offset: number): RecordSpan | undefined {
  return seg.records.find((r) => r.start <= offset && offset < r.end);
}

/**
 * Start of the write batch holding `offset`: the last BATCH record at or before it (each batch's
 * bytes begin with one). A batch is synced, and confirmed, as a whole, so a torn batch may be
 * dropped as a whole by recovery.
 */
export function batchStart(seg: SegmentMap, offset: number): number {
  let start = 0;
  for (const r of seg.records) {
    if (r.start > offset) break;
    if (r.kind === KIND.BATCH) start = r.start;
  }
  return start;
}
