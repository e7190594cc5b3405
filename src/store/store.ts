/**
 * The storage contract. The core calls these verbs; it never knows how bytes are laid out.
 * Message properties are opaque bytes to the store (the protocol layer's encoding); the few
 * fields the core itself interprets (persistence, priority, expiry) travel beside them.
 *
 * Ordering contract: records are applied in the order they are appended. `afterSync(cb)` calls
 * `cb` once every record appended before the call is durable (fdatasync done), or with an
 * error if the write or sync that covered them failed. A failure is sticky: every later append
 * throws StoreFailedError and every later afterSync reports the error.
 *
 * The core holds a message only by its `MessageLocation` (an opaque reference) and its
 * (queueId, seq); it never learns how a store lays records out. docs/storage.md ("Contract
 * for a second store") maps every verb onto a shared SQL store.
 */

import type { HistogramSnapshot } from '../util/histogram.js';

/** A message as the store keeps it. `body` may be undefined for a paged-out message. */
export interface StoredMessage {
  exchange: string;
  routingKey: string;
  /** Protocol-encoded content properties, opaque here. */
  properties: Buffer;
  body: Buffer | undefined;
  bodySize: number;
  priority: number;
  /** Wall-clock ms at which the message expires, 0 for never. */
  expiresAt: number;
  /**
   * Wall-clock ms (Date.now()) at which the broker accepted the message; queue TTLs count
   * from it. Kept exactly as written through recovery, `load` and the transient spill; 0 =
   * unknown (a record written before stores kept it).
   */
  timestamp: number;
  /** Where the store keeps the message, for paging and live counts; set by `enqueue`. */
  location: MessageLocation | undefined;
}

/**
 * An opaque reference to a stored message: three unsigned 32-bit integers whose meaning only
 * the store knows. The core keeps them (12 bytes) for a paged-out message and hands back a
 * plain object with the same numbers later: every verb that takes a StoredMessage or a
 * reference accepts such an object. The field names are the journal's (segment number, record
 * offset, record size: one read of `size` bytes at `offset` fetches it); another store puts
 * what it likes in them (a SQL store: a row id's two words and 0). A reference stays valid
 * while the message is live, even after compaction copied its record elsewhere.
 */
export interface MessageRef {
  readonly segment: number;
  readonly offset: number;
  readonly size: number;
}

/** The older name of MessageRef. */
export type MessageLocation = MessageRef;

const NO_PROPERTIES = Buffer.alloc(0);

/**
 * A message known only by where it is stored (with its priority and expiry, when known): its
 * body and properties are read with `load`. Recovery's paged messages and the core's paged tail.
 */
export function locationOnly(location: MessageRef, priority = 0, expiresAt = 0): StoredMessage {
  return {
    exchange: '',
    routingKey: '',
    properties: NO_PROPERTIES,
    body: undefined,
    bodySize: 0,
    priority,
    expiresAt,
    timestamp: 0,
    location,
  };
}

export interface RecoveredMessage {
  queueId: number;
  seq: number;
  message: StoredMessage;
  /** True when the message may have been delivered before the restart. */
  redelivered: boolean;
  /**
   * Failed deliveries recorded for it in this queue (the highest `recordFailures` count that
   * reached the store), 0 if none. Known for paged-out messages too.
   */
  failures: number;
}

/** What recovery hands back to the core, in order. */
export interface RecoveryVisitor {
  /** A live definition (queue, exchange, binding), by the key it was written under. */
  definition(key: string, value: unknown): void;
  /**
   * Optional: called before the messages of a queue that has any, with how many follow (so a
   * queue can size its tables once instead of growing them).
   */
  queue?(queueId: number, messages: number): void;
  /**
   * A live message of queue `queueId`; called in ascending `seq` order per queue, queue after
   * queue. Messages whose bodies did not fit in the store's body budget come as paged stubs:
   * `body` undefined, and only `location`, `priority` (a priority queue files a stub in its
   * level before reading it back) and `expiresAt` (a delayed exchange's due time) meaningful;
   * exchange, routing key, properties, bodySize and timestamp are placeholders (empty, 0).
   * Read them with `load` when needed.
   */
  message(m: RecoveredMessage): void;
  /**
   * Optional: a deduplication id recorded by a `dedup` op (scope: a queue's or an exchange's
   * id) and not expired yet (`expiresAt` wall-clock ms, 0 for never). Called after every
   * message, oldest id first (the order they were recorded in), so the caller can apply its
   * size limits in that order.
   */
  dedup?(scope: number, id: string, expiresAt: number): void;
}

/** Damage recovery found: a torn tail it cut, or corrupt bytes it skipped (skipCorrupt). */
export interface JournalDamage {
  kind: 'torn' | 'corrupt';
  file: string;
  offset: number;
  bytes: number;
  reason?: string;
  /** Where the damaged bytes (or their first MiB, for a torn tail) were copied. */
  sideFile?: string;
  /** Corrupt bytes an earlier start already skipped (its side file holds exactly them). */
  known?: boolean;
}

export interface RecoveryStats {
  segments: number;
  records: number;
  messages: number;
  /** Bytes of a torn tail cut off (left on disk behind a seal, never read again). */
  truncatedBytes: number;
  /** Corrupt bytes skipped, and in how many ranges (only with skipCorrupt). */
  skippedBytes: number;
  skippedRanges: number;
  damage: readonly JournalDamage[];
  /** The store was closed cleanly last time (redelivered flags are exact). */
  clean: boolean;
  /** Largest queue id seen, so the id counter never goes backwards. */
  maxQueueId: number;
  /**
   * For every queue id any record names (enqueue, settle, purge, watermark), the highest seq
   * recorded for it, live or not. Continue a queue's seqs above it even when nothing of it is
   * left, so a settle or purge still on disk never matches a new message.
   */
  queueSeqs: ReadonlyMap<number, number>;
  ms: number;
}

/** What a store that found nothing (a new directory, MemoryStore) reports. */
export function emptyRecoveryStats(): RecoveryStats {
  return {
    segments: 0,
    records: 0,
    messages: 0,
    truncatedBytes: 0,
    skippedBytes: 0,
    skippedRanges: 0,
    damage: [],
    clean: true,
    maxQueueId: 0,
    queueSeqs: new Map<number, number>(),
    ms: 0,
  };
}

export interface Store {
  /** What this store can do (the core checks flags, never the class). */
  readonly capabilities: StoreCapabilities;
  /** Replay what is on disk into the visitor. Call once, before any append. */
  recover(visitor: RecoveryVisitor): Promise<RecoveryStats>;

  /**
   * A queue id never handed out before, by this process or any earlier one over the same data
   * (the journal keeps a high-water mark in its log). Call after recover. Ids are positive
   * and at most 2^32 - 1. Works while the store is failed (only durable writes are refused).
   */
  allocateQueueId(): number;
  /**
   * Ids up to `id` are in use (a queue the core rebuilt from a definition written before the
   * store kept its own high-water mark): allocateQueueId never returns them.
   */
  reserveQueueIds(id: number): void;

  /** Journal a definition under a stable key (a redeclare replaces it). */
  putDefinition(key: string, value: unknown): void;
  deleteDefinition(key: string): void;

  /**
   * Journal one message routed to several durable queues (one record, body written once).
   * Sets `message.location`. The hot path: one record, no commit framing.
   */
  enqueue(message: StoredMessage, queueIds: readonly number[], seqs: readonly number[]): void;
  /**
   * The message at (queueId, seq) is gone (acked, dropped, expired). `message` needs only its
   * location, so a paged-out message is settled without reading it back.
   */
  settle(queueId: number, seq: number, message: Located): void;
  /**
   * Every message of the queue with seq <= uptoSeq is gone (purge, delete): one record.
   * `messages` are the ones that were live (only their locations are used), so the store can
   * release their space.
   */
  purge(queueId: number, uptoSeq: number, messages: Iterable<Located>): void;
  /** Messages of the queue with seq <= seq have been handed to a consumer (redelivered flag). */
  markDelivered(queueId: number, seq: number): void;
  /**
   * The message at (queueId, seq) has failed `failures` deliveries so far (it came back from
   * a consumer: nack/reject with requeue, session ended, consumer timeout). Call with the new
   * total each time, only for a message enqueued in this store and not yet settled. Recovery
   * hands back the highest count recorded (RecoveredMessage.failures); a count for a message
   * settled or purged since is ignored. Like a settle, it is batched (one record per flush) and
   * nothing waits for it to be durable. Cheap, and never throws for a failed or closed store
   * (nothing more can become durable then; the count is dropped); throws RangeError only for
   * invalid arguments (ids and counts are unsigned 32-bit integers, seq a safe integer >= 0).
   */
  recordFailures(queueId: number, seq: number, failures: number): void;
  /**
   * The core dropped deduplication id `id` of `scope` (evicted by its size limit), or every id
   * of `scope` when `id` is undefined (its queue or exchange was deleted): the store need not
   * keep their records any more. Nothing is written, so a record still on disk may come back
   * at recovery (the core applies its limits again). Never throws for a failed or closed store.
   */
  forgetDedup(scope: number, id?: string): void;
  /**
   * Apply `ops` in order as one unit: after any crash, recovery finds all of them or none
   * (a transaction's publishes and acks, a dead-letter move, failure counts). The same rules as the single
   * verbs apply to each op; an invalid op throws before anything is applied. afterSync covers
   * a commit like any append. Needs `capabilities.atomicCommit` for the crash guarantee.
   */
  commit(ops: readonly StoreOp[]): void;

  /**
   * Paging: read journaled messages back, without blocking the caller: one result per
   * location, in order, each a PagedMessage (private copies of body and properties, and the
   * seq its record gives `queueId`) or an Error for a record that cannot be read (damaged;
   * the caller skips it). Records not yet written (still in the batch being written) are
   * served once they are. Consecutive locations are read together (one read where possible).
   * Rejects only when the store has failed or is closed, or never pages. `locations` may be
   * plain objects and are not kept.
   */
  load(locations: readonly MessageLocation[], queueId: number): Promise<(PagedMessage | Error)[]>;

  /**
   * The body of a message in hand (`message.body`); a store may read a paged-out one back
   * synchronously (the journal does, for tools and tests) or throw. The core never calls it:
   * paged messages come back whole from `load`.
   */
  readBody(message: StoredMessage): Buffer;

  afterSync(cb: (err: Error | undefined) => void): void;
  /** Sticky error after a failed write or sync, else undefined. */
  readonly failure: Error | undefined;
  /**
   * Set while writes wait for disk space: nothing is confirmed or failed meanwhile, and the
   * pending records are written once there is room again.
   */
  readonly stall: Error | undefined;
  /** Told when the store stalls, resumes and fails; set once, before recover. */
  listen(listener: StoreListener): void;

  /** Flush, sync and release files. Further appends throw; pending loads finish first. */
  close(): Promise<void>;

  /** Counters for metrics, tests and benchmarks. */
  stats(): StoreStats;

  /**
   * Optional: the store's health for operators (metrics, the management API), in terms any
   * store can fill in; a fresh copy each call, cheap enough for every scrape.
   */
  health?(): StoreHealth;
}

/** fdatasync latency buckets, in seconds. */
export const FSYNC_SECONDS_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Group-commit batch sizes: records per batch (one fsync per segment it touches). */
export const COMMIT_BATCH_BUCKETS: readonly number[] = [
  1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
];

/** What `Store.health` reports. */
export interface StoreHealth {
  /** Which store: 'journal', 'memory'. */
  kind: string;
  /** Segment files in use (0 for a store without files). */
  segments: number;
  /** Bytes of records in those segments (appended; the disk holds at least this). */
  bytes: number;
  /** Recycled segment files kept for reuse. */
  spareFiles: number;
  liveMessages: number;
  appendedRecords: number;
  bytesWritten: number;
  syncs: number;
  compactions: number;
  deletedSegments: number;
  writeRetries: number;
  /** fdatasync latency of group commits, in seconds. */
  fsyncSeconds: HistogramSnapshot;
  /** Records per group-commit batch. */
  commitBatchRecords: HistogramSnapshot;
  /** What the last recovery found (zeros for a new or memory store). */
  recovery: {
    segments: number;
    records: number;
    messages: number;
    /** Bytes of a torn tail cut off. */
    tornTailBytes: number;
    /** Corrupt bytes skipped (skipCorrupt), and in how many ranges. */
    skippedBytes: number;
    skippedRanges: number;
    clean: boolean;
    ms: number;
  };
  /** The sticky failure's message, if the store failed. */
  failure: string | undefined;
  /** Set while writes wait for disk space. */
  stall: string | undefined;
}

/** The recovery part of StoreHealth, from what `recover` returned. */
export function recoveryHealth(r: RecoveryStats): StoreHealth['recovery'] {
  return {
    segments: r.segments,
    records: r.records,
    messages: r.messages,
    tornTailBytes: r.truncatedBytes,
    skippedBytes: r.skippedBytes,
    skippedRanges: r.skippedRanges,
    clean: r.clean,
    ms: r.ms,
  };
}

export interface StoreListener {
  /** Writes are waiting for disk space (`err`), or flow again (`undefined`). */
  stalled(err: Error | undefined): void;
  /** The store failed for good: no more confirms; the process should restart into recovery. */
  failed(err: Error): void;
}

/** What a store can do; the core checks these flags, never a store's class. */
export interface StoreCapabilities {
  /**
   * Journaled messages can be paged out: the core keeps only their location and reads them
   * back with `load`. A store that keeps nothing outside memory (MemoryStore) cannot.
   */
  readonly paging: boolean;
  /** `commit` applies its ops all or nothing, also across a crash. */
  readonly atomicCommit: boolean;
  /** What was synced survives a restart (recover finds it). */
  readonly durable: boolean;
  /**
   * Several brokers use the same store at once (a later SQL store). No store sets it yet, and
   * the core does not support it: leases across nodes are not part of this contract.
   */
  readonly shared: boolean;
}

/** Anything that carries a message's location: a StoredMessage, or just `{ location }`. */
export interface Located {
  readonly location: MessageLocation | undefined;
}

/** One op of an atomic `commit`. */
export type StoreOp =
  | {
      readonly op: 'enqueue';
      readonly message: StoredMessage;
      readonly queueIds: readonly number[];
      readonly seqs: readonly number[];
    }
  | {
      readonly op: 'settle';
      readonly queueId: number;
      readonly seq: number;
      readonly message: Located;
    }
  | {
      readonly op: 'purge';
      readonly queueId: number;
      readonly uptoSeq: number;
      readonly messages: Iterable<Located>;
    }
  | { readonly op: 'markDelivered'; readonly queueId: number; readonly seq: number }
  | {
      /** As `recordFailures`, atomically with the other ops (e.g. a requeue inside a commit). */
      readonly op: 'failures';
      readonly queueId: number;
      readonly seq: number;
      readonly failures: number;
    }
  | {
      /**
       * Deduplication id `id` of `scope` (a queue's or an exchange's id, unsigned 32-bit) was
       * seen, until `expiresAt` (wall-clock ms, 0 for never). In the commit of the enqueue it
       * guards, so after a crash both or neither exist. Kept (across compaction too) until it
       * expires or `forgetDedup` drops it; recovery hands it back (RecoveryVisitor.dedup).
       */
      readonly op: 'dedup';
      readonly scope: number;
      readonly id: string;
      readonly expiresAt: number;
    };

/** A paged message read back by `load`, with the seq its queue gave it. */
export interface PagedMessage {
  message: StoredMessage;
  seq: number;
}

export interface StoreStats {
  appendedRecords: number;
  syncs: number;
  bytesWritten: number;
  segments: number;
  liveMessages: number;
  compactions: number;
  deletedSegments: number;
  /** Writes retried after the disk was full. */
  writeRetries: number;
}
