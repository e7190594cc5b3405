import {
  COMMIT_BATCH_BUCKETS,
  emptyRecoveryStats,
  FSYNC_SECONDS_BUCKETS,
  recoveryHealth,
  type Located,
  type MessageLocation,
  type PagedMessage,
  type RecoveryStats,
  type RecoveryVisitor,
  type Store,
  type StoreCapabilities,
  type StoreHealth,
  type StoredMessage,
  type StoreOp,
  type StoreStats,
} from '../store.js';
import { checkFailures, checkOps } from '../store-ops.js';
import { StoreFailure } from '../store-failure.js';
import { emptyHistogram } from '../../util/histogram.js';

const LOCATION = Object.freeze({ segment: 0, offset: 0, size: 0 });
const MAX_QUEUE_ID = 0xffffffff;

/**
 * A store that keeps nothing past the process: for transient brokers and tests. Every verb
 * succeeds at once, afterSync fires on the next tick and recovery finds nothing.
 */
export class MemoryStore implements Store {
  readonly failure: Error | undefined = undefined;
  readonly stall: Error | undefined = undefined;
  /** Not part of the Store contract (see capabilities.paging); kept for tests. */
  readonly canPage = false;
  /** Commits are trivially atomic: nothing survives a crash to be torn. */
  readonly capabilities: StoreCapabilities = Object.freeze({
    paging: false,
    atomicCommit: true,
    durable: false,
    shared: false,
  });
  private lastQueueId = 0;
  private readonly definitions = new Map<string, unknown>();
  private closed = false;
  private appendedRecords = 0;
  private liveMessages = 0;

  recover(_visitor: RecoveryVisitor): Promise<RecoveryStats> {
    return Promise.resolve(emptyRecoveryStats());
  }

  listen(): void {
    // Nothing here stalls or fails.
  }

  allocateQueueId(): number {
    if (this.lastQueueId >= MAX_QUEUE_ID) throw new RangeError('queue ids are exhausted');
    return ++this.lastQueueId;
  }

  reserveQueueIds(id: number): void {
    if (id > this.lastQueueId) this.lastQueueId = id;
  }

  putDefinition(key: string, value: unknown): void {
    this.check();
    this.definitions.set(key, value);
    this.appendedRecords++;
  }

  deleteDefinition(key: string): void {
    this.check();
    this.definitions.delete(key);
    this.appendedRecords++;
  }

  enqueue(message: StoredMessage, queueIds: readonly number[], _seqs: readonly number[]): void {
    this.check();
    message.location = LOCATION;
    this.liveMessages += queueIds.length;
    this.appendedRecords++;
  }

  settle(_queueId: number, _seq: number, _message: Located): void {
    this.check();
    this.liveMessages--;
    this.appendedRecords++;
  }

  purge(_queueId: number, _uptoSeq: number, messages: Iterable<Located>): void {
    this.check();
    for (const _m of messages) this.liveMessages--;
    this.appendedRecords++;
  }

  markDelivered(_queueId: number, _seq: number): void {
    this.check();
  }

  /** Validated, not kept: nothing here survives a restart, so no count is ever recovered. */
  recordFailures(queueId: number, seq: number, failures: number): void {
    checkFailures(queueId, seq, failures);
  }

  /** Nothing is kept, so nothing to drop. */
  forgetDedup(_scope: number, _id?: string): void {}

  commit(ops: readonly StoreOp[]): void {
    this.check();
    checkOps(ops);
    for (const o of ops) {
      if (o.op === 'enqueue') this.enqueue(o.message, o.queueIds, o.seqs);
      else if (o.op === 'settle') this.settle(o.queueId, o.seq, o.message);
      else if (o.op === 'purge') this.purge(o.queueId, o.uptoSeq, o.messages);
      else if (o.op === 'failures') this.recordFailures(o.queueId, o.seq, o.failures);
      else if (o.op === 'dedup')
        continue; // Checked; nothing is recovered from memory.
      else this.markDelivered(o.queueId, o.seq);
    }
  }

  /** Nothing is ever paged out of memory (capabilities.paging is false). */
  load(
    _locations: readonly MessageLocation[],
    _queueId: number,
  ): Promise<(PagedMessage | Error)[]> {
    return Promise.reject(new Error('the memory store keeps no paged messages'));
  }

  readBody(message: StoredMessage): Buffer {
    if (message.body === undefined) throw new Error('the memory store keeps no paged bodies');
    return message.body;
  }

  /** Not part of the Store contract: nothing is ever paged out of memory. */
  isReadable(_location: MessageLocation): boolean {
    return false;
  }

  readPaged(_location: MessageLocation, _queueId: number): { message: StoredMessage; seq: number } {
    throw new Error('the memory store keeps no paged messages');
  }

  afterSync(cb: (err: Error | undefined) => void): void {
    process.nextTick(cb, undefined);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  stats(): StoreStats {
    return {
      appendedRecords: this.appendedRecords,
      syncs: 0,
      bytesWritten: 0,
      segments: 0,
      liveMessages: this.liveMessages,
      compactions: 0,
      deletedSegments: 0,
      writeRetries: 0,
    };
  }

  /** Nothing on disk and never a sync: only the record counts apply. */
  health(): StoreHealth {
    return {
      kind: 'memory',
      segments: 0,
      bytes: 0,
      spareFiles: 0,
      liveMessages: this.liveMessages,
      appendedRecords: this.appendedRecords,
      bytesWritten: 0,
      syncs: 0,
      compactions: 0,
      deletedSegments: 0,
      writeRetries: 0,
      fsyncSeconds: emptyHistogram(FSYNC_SECONDS_BUCKETS),
      commitBatchRecords: emptyHistogram(COMMIT_BATCH_BUCKETS),
      recovery: recoveryHealth(emptyRecoveryStats()),
      failure: undefined,
      stall: undefined,
    };
  }

  private check(): void {
    if (this.closed) throw new StoreFailure('the store is closed');
  }
}
