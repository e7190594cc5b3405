/**
 * Transient spill: where a queue's messages go once the broker's body budget is spent and the
 * journal cannot hold them (transient messages, non-durable queues, the memory store). Like
 * RabbitMQ's classic queues paging transient messages: written to files, never fsynced, read
 * back in order, and thrown away at restart. The core sees only this interface.
 */

/** One message as the spill keeps it; `body` and `properties` are private copies on read. */
export interface SpillRecord {
  exchange: string;
  routingKey: string;
  properties: Buffer;
  body: Buffer;
  priority: number;
  expiresAt: number;
  /** StoredMessage.timestamp, kept exactly. */
  timestamp: number;
  persistent: boolean;
}

/** One queue's spilled messages, first in first out. */
export interface SpillStream {
  readonly length: number;
  /** Append a message (copied; the caller may drop its buffers). Never throws. */
  append(m: SpillRecord): void;
  /**
   * The oldest message, removed. Undefined when it could not be read back (the error has
   * been reported); the caller skips it. Call only while length > 0.
   */
  shift(): SpillRecord | undefined;
  /** Drop everything and delete the files (purge, delete). */
  clear(): void;
}

export interface SpillStats {
  /** Spill files on disk now. */
  files: number;
  /** Messages spilled and not yet read back or dropped. */
  messages: number;
  bytesWritten: number;
}

export interface Spill {
  /** Told when a write or read fails (once per failing stretch); the broker installs it. */
  onError: (err: unknown, context: string) => void;
  /** A new, empty stream for queue `queueId` (files are created only when it spills). */
  stream(queueId: number): SpillStream;
  stats(): SpillStats;
  /** Drop every stream and delete the files (and the directory when it was a temp one). */
  close(): Promise<void>;
}
