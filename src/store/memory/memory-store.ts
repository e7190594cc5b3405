import {
  emptyRecoveryStats,
  type MessageLocation,
  type RecoveryStats,
  type RecoveryVisitor,
  type Store,
  type StoredMessage,
  type StoreStats,
} from '../store.js';
import { StoreFailure } from '../store-failure.js';

const LOCATION = Object.freeze({ segment: 0, offset: 0, size: 0 });

/**
 * A store that keeps nothing past the process: for transient brokers and tests. Every verb
 * succeeds at once, afterSync fires on the next tick and recovery finds nothing.
 */
export class MemoryStore implements Store {
  readonly failure: Error | undefined = undefined;
  readonly stall: Error | undefined = undefined;
  readonly canPage = false;
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

  settle(_queueId: number, _seq: number, _message: StoredMessage): void {
    this.check();
    this.liveMessages--;
    this.appendedRecords++;
  }

  purge(_queueId: number, _uptoSeq: number, messages: Iterable<StoredMessage>): void {
    this.check();
    for (const _m of messages) this.liveMessages--;
    this.appendedRecords++;
  }

  markDelivered(_queueId: number, _seq: number): void {
    this.check();
  }

  readBody(message: StoredMessage): Buffer {
    if (message.body === undefined) throw new Error('the memory store keeps no paged bodies');
    return message.body;
  }

  /** Nothing is ever paged out of memory. */
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

  private check(): void {
    if (this.closed) throw new StoreFailure('the store is closed');
  }
}
