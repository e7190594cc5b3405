import type {
  MessageLocation,
  RecoveryStats,
  RecoveryVisitor,
  Store,
  StoredMessage,
  StoreStats,
} from '../store.js';
import { StoreFailure } from '../store-failure.js';

const LOCATION = Object.freeze({ segment: 0, offset: 0, size: 0 });

/**
 * A store that keeps nothing past the process: for transient brokers and tests. Every verb
 * succeeds at once, afterSync fires on the next tick and recovery finds nothing.
 */
export class MemoryStore implements Store {
  readonly failure: Error | undefined = undefined;
  private readonly definitions = new Map<string, unknown>();
  private closed = false;
  private appendedRecords = 0;
  private liveMessages = 0;

  recover(_visitor: RecoveryVisitor): Promise<RecoveryStats> {
    const stats = { segments: 0, records: 0, messages: 0, truncatedBytes: 0, maxQueueId: 0 };
    return Promise.resolve({ ...stats, queueSeqs: new Map<number, number>(), ms: 0 });
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
    };
  }

  private check(): void {
    if (this.closed) throw new StoreFailure('the store is closed');
  }
}
