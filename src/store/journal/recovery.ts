import type { JournalDamage, RecoveryStats, RecoveryVisitor } from '../store.js';
import { StoreCorruptError } from '../store-failure.js';
import type { EnqueueDecoder, RecordReader } from './record-reader.js';
import { Scanner } from './scanner.js';
import {
  type DedupEntry,
  type DefEntry,
  type FailureEntry,
  isLive,
  type MarkEntry,
  Segment,
} from './segment.js';
import { KEEP_TORN_FILES, pruneSideFiles, SegmentScan } from './segment-scan.js';
import { decodeTagged } from './tagged-json.js';

/*
 * Recovery at startup: recoverJournal runs the segments in order and hands back the journal's
 * rebuilt state. segment-scan.ts reads each segment file and rules on its damage; scanner.ts
 * applies the records and replays the messages.
 */

export interface RecoveredJournal {
  segments: Segment[];
  defs: Map<string, DefEntry>;
  marks: Map<number, MarkEntry>;
  /** Failure counts of live messages that have one (queueId -> seq), their segments pinned. */
  failures: Map<number, Map<number, FailureEntry>>;
  /** Unexpired deduplication ids (scope -> id), their segments pinned. */
  dedups: Map<number, Map<string, DedupEntry>>;
  /** The highest dedup order number found (new ids continue above it). */
  dedupOrder: number;
  liveMessages: number;
  /** The last segment ended with the seal of a clean close. */
  clean: boolean;
  stats: RecoveryStats;
}

/** How recovery reads records back and how many body bytes it may hand over. */
export interface ReplayOptions {
  bodyBudget: number;
  reader: RecordReader;
  decoder: EnqueueDecoder;
  /** Skip corrupt records (reported in stats.damage) instead of refusing to start. */
  skipCorrupt?: boolean;
  /** The journal's secret, to tell real BATCH records from look-alikes. */
  proofKey: number;
}

/**
 * Scan every segment in order, check each record's CRC and rebuild definitions, queues,
 * watermarks and live counts, then replay them into the visitor: definitions first, then each
 * queue's messages in ascending seq. A segment ends at its SEAL record or at the end of the
 * file. What damage means is SegmentScan's business: only the torn tail of the newest,
 * unconfirmed batch is cut; anything else refuses to start (or, with skipCorrupt, is skipped
 * and reported).
 *
 * Redelivered flags: a clean close ends the last segment with a clean SEAL after flushing
 * every delivered-watermark, so then `seq <= watermark` is exact. After any other stop the
 * newest watermark updates may not have reached the disk although their deliveries went out,
 * so every recovered message is flagged: it may have been delivered, which is what the flag
 * promises.
 */
export function recoverJournal(
  dir: string,
  ids: readonly number[],
  options: ReplayOptions,
  visitor: RecoveryVisitor,
): RecoveredJournal {
  const t0 = performance.now();
  const scan = new Scanner();
  const segments: Segment[] = [];
  const damage: JournalDamage[] = [];
  let clean = false;
  const reader = new SegmentScan(scan, options.skipCorrupt === true, damage, options.proofKey);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (i > 0 && id !== ids[i - 1]! + 1) {
      throw new StoreCorruptError(
        new Segment(dir, ids[i - 1]! + 1).path,
        0,
        'this segment is missing between two present ones',
      );
    }
    const seg = new Segment(dir, id, true);
    const last = i === ids.length - 1;
    const end = reader.run(seg, last);
    // Only a seal close() wrote says the watermarks are exact.
    if (last) clean = scan.sealed && scan.clean;
    seg.size = seg.written = seg.synced = end;
    scan.endSegment();
    segments.push(seg);
  }
  reader.release();
  if (damage.some((d) => d.kind === 'torn')) pruneSideFiles(dir, '.torn', KEEP_TORN_FILES);
  const first = ids[0] ?? 0;
  for (const d of scan.defs.values()) segments[d.segment - first]!.pins++;
  for (const m of scan.marks.values()) segments[m.segment - first]!.pins++;
  for (const [key, d] of scan.defs) visitor.definition(key, decodeDefinition(d.payload));
  const failures = new Map<number, Map<number, FailureEntry>>();
  const liveMessages = scan.replay(segments, clean, options, visitor, failures);
  for (const counts of failures.values())
    for (const e of counts.values()) segments[e.segment - first]!.pins++;
  const dedups = scan.liveDedups(Date.now());
  for (const e of dedups) {
    segments[e.segment - first]!.pins++;
    visitor.dedup?.(e.scope, e.id, e.expiresAt);
  }
  // Only live records stay indexed: settles look them up, compaction copies them.
  for (const seg of segments) seg.index.compact(isLive);
  const queueSeqs = new Map<number, number>();
  for (const [queueId, q] of scan.queues) if (q.maxSeq >= 0) queueSeqs.set(queueId, q.maxSeq);
  const sum = (kind: JournalDamage['kind']): number =>
    damage.reduce((n, d) => n + (d.kind === kind ? d.bytes : 0), 0);
  return {
    segments,
    defs: scan.defs,
    marks: scan.marks,
    failures,
    dedups: scan.dedups,
    dedupOrder: scan.dedupOrder,
    liveMessages,
    clean,
    stats: {
      segments: ids.length,
      records: scan.records,
      messages: liveMessages,
      truncatedBytes: sum('torn'),
      skippedBytes: sum('corrupt'),
      skippedRanges: damage.filter((d) => d.kind === 'corrupt').length,
      damage,
      clean,
      maxQueueId: scan.maxQueueId,
      queueSeqs,
      ms: performance.now() - t0,
    },
  };
}

export function decodeDefinition(payload: Buffer): unknown {
  const keyLength = payload.readUInt32LE(0);
  return decodeTagged(payload.toString('utf8', 4 + keyLength));
}
