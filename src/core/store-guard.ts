import type { Store, StoredMessage, StoreOp } from '../store/store.js';

/**
 * The core's view of the store. After the store fails (sticky), settles and marks become
 * no-ops instead of throwing into ack paths; enqueue reports failure so the publisher is nacked.
 * Recovery replays the journal as it was before the failure, so nothing confirmed is lost.
 */
export class StoreGuard {
  readonly store: Store;
  constructor(store: Store) {
    this.store = store;
  }

  enqueue(message: StoredMessage, queueIds: readonly number[], seqs: readonly number[]): boolean {
    if (this.store.failure !== undefined) return false;
    try {
      this.store.enqueue(message, queueIds, seqs);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Apply `ops` as one unit (a transaction, a dead-letter move). False when the store has
   * failed or refused them; the caller fails what they stood for, as with enqueue.
   */
  commit(ops: readonly StoreOp[]): boolean {
    if (this.store.failure !== undefined) return false;
    try {
      this.store.commit(ops);
      return true;
    } catch {
      return false;
    }
  }

  settle(queueId: number, seq: number, message: StoredMessage): void {
    if (this.store.failure === undefined)
      this.safely(() => this.store.settle(queueId, seq, message));
  }

  purge(queueId: number, uptoSeq: number, messages: Iterable<StoredMessage>): void {
    if (this.store.failure === undefined)
      this.safely(() => this.store.purge(queueId, uptoSeq, messages));
  }

  markDelivered(queueId: number, seq: number): void {
    if (this.store.failure === undefined) this.safely(() => this.store.markDelivered(queueId, seq));
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
