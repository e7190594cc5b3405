import type { Located, Store, StoredMessage, StoreOp } from '../store/store.js';

/**
 * The core's view of the store. After the store fails (sticky), settles and marks become
 * no-ops instead of throwing into ack paths; enqueue reports why a message was not stored.
 * Recovery replays the journal as it was before the failure, so nothing confirmed is lost.
 */
export class StoreGuard {
  readonly store: Store;
  /** While a transaction commits: every write is collected here for one `store.commit`. */
  private batch: StoreOp[] | undefined = undefined;
  /** What waits for the batch to be written (see `afterBatch`). */
  private deferred: (() => void)[] = [];
  /** What to undo if the batch is refused (ids taken for deduplication). */
  private undo: (() => void)[] = [];
  constructor(store: Store) {
    this.store = store;
  }

  /**
   * Collect every message write from now until `endBatch` (enqueues, settles, dead-letter
   * moves, failure counts, delivered marks) instead of appending it, so a transaction's
   * effects, whatever paths they take through the core, become one atomic store commit.
   */
  beginBatch(): void {
    this.batch = [];
  }

  /**
   * Write what `beginBatch` collected as one commit; undefined when appended (or empty). Then
   * run what `afterBatch` deferred, unless the commit was refused (nothing of it is stored).
   */
  endBatch(): { error: Error; failed: boolean } | undefined {
    const ops = this.batch ?? [];
    const deferred = this.deferred;
    const undo = this.undo;
    this.batch = undefined;
    this.deferred = [];
    this.undo = [];
    const refused = ops.length === 0 ? undefined : this.commit(ops);
    for (const fn of refused === undefined ? deferred : undo) fn();
    return refused;
  }

  get batching(): boolean {
    return this.batch !== undefined;
  }

  /**
   * Run `fn` once the batch is written: putting a message on its queues, which pages it out
   * by the store reference the commit gives it. `ifRefused` runs instead if it is refused.
   */
  afterBatch(fn: () => void, ifRefused?: () => void): void {
    this.deferred.push(fn);
    if (ifRefused !== undefined) this.undo.push(ifRefused);
  }

  /** True while collecting; a failed store is not collected for (writes report it at once). */
  private collecting(): boolean {
    return this.batch !== undefined && this.store.failure === undefined;
  }

  /**
   * Journal a message; returns undefined when appended, else why not: the store's sticky
   * failure (`failed` true: outcome of earlier appends unknown) or an append it refused while
   * healthy (this message only: it is not enqueued anywhere).
   */
  enqueue(
    message: StoredMessage,
    queueIds: readonly number[],
    seqs: readonly number[],
  ): { error: Error; failed: boolean } | undefined {
    if (this.collecting()) {
      // The caller reuses its id arrays for the next publish.
      this.batch!.push({ op: 'enqueue', message, queueIds: [...queueIds], seqs: [...seqs] });
      return undefined;
    }
    if (this.store.failure !== undefined) return { error: this.store.failure, failed: true };
    try {
      this.store.enqueue(message, queueIds, seqs);
      return undefined;
    } catch (err) {
      const failed = this.store.failure !== undefined;
      return { error: err instanceof Error ? err : new Error(String(err)), failed };
    }
  }

  /**
   * Apply `ops` as one unit (a transaction, a dead-letter move). Undefined when appended,
   * else why not, as with enqueue; the caller fails what they stood for.
   */
  commit(ops: readonly StoreOp[]): { error: Error; failed: boolean } | undefined {
    if (this.collecting()) {
      this.batch!.push(...ops);
      return undefined;
    }
    if (this.store.failure !== undefined) return { error: this.store.failure, failed: true };
    try {
      this.store.commit(ops);
      return undefined;
    } catch (err) {
      const failed = this.store.failure !== undefined;
      return { error: err instanceof Error ? err : new Error(String(err)), failed };
    }
  }

  settle(queueId: number, seq: number, message: StoredMessage): void {
    if (this.collecting()) this.batch!.push({ op: 'settle', queueId, seq, message });
    else if (this.store.failure === undefined) {
      // As `safely`, without a closure per ack.
      try {
        this.store.settle(queueId, seq, message);
      } catch {
        // The store is now failed; publishers learn it through afterSync and enqueue.
      }
    }
  }

  purge(queueId: number, uptoSeq: number, messages: Iterable<Located>): void {
    if (this.collecting()) this.batch!.push({ op: 'purge', queueId, uptoSeq, messages });
    else if (this.store.failure === undefined)
      this.safely(() => this.store.purge(queueId, uptoSeq, messages));
  }

  /** The message at (queueId, seq) has failed `failures` deliveries (x-delivery-limit). */
  recordFailures(queueId: number, seq: number, failures: number): void {
    if (this.collecting()) this.batch!.push({ op: 'failures', queueId, seq, failures });
    else if (this.store.failure === undefined)
      this.safely(() => this.store.recordFailures(queueId, seq, failures));
  }

  /** The core dropped a deduplication id (or all of a scope's): see Store.forgetDedup. */
  forgetDedup(scope: number, id?: string): void {
    this.safely(() => this.store.forgetDedup(scope, id));
  }

  markDelivered(queueId: number, seq: number): void {
    if (this.collecting()) this.batch!.push({ op: 'markDelivered', queueId, seq });
    else if (this.store.failure === undefined) {
      // As `safely`, without a closure per drain.
      try {
        this.store.markDelivered(queueId, seq);
      } catch {
        // The store is now failed; publishers learn it through afterSync and enqueue.
      }
    }
  }

  putDefinition(key: string, value: unknown): void {
    this.store.putDefinition(key, value);
  }

  deleteDefinition(key: string): void {
    this.store.deleteDefinition(key);
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // The store is now failed; publishers learn it through afterSync and enqueue.
    }
  }
}
