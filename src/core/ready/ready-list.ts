import type { StoredMessage } from '../../store/store.js';
import type { Message } from '../message.js';
import type { QueueEntry } from '../queue-entry.js';

/**
 * A queue's ready messages, in the order they are to be delivered. Dispatch only asks for the
 * next one; which one that is (oldest first, highest priority first, the next of a free
 * group, the next due) is the list's business. Today's FIFO (src/core/ready/fifo.ts) is the
 * first implementation; a priority list (one FIFO per priority), a delayed set (a heap) and
 * per-group lists implement the same interface.
 */
export interface ReadyList {
  /** Ready messages, in memory or paged out. */
  readonly length: number;
  /**
   * A published or recovered message at the back (it may be paged out or spilled), with the
   * failed deliveries it had before (recovered messages).
   */
  add(
    message: Message,
    seq: number,
    journaled: boolean,
    redelivered: boolean,
    failures: number,
  ): void;
  /** An entry that was delivered and is put back: it regains its place (by seq). */
  requeue(entry: QueueEntry): void;
  /**
   * The next entry to deliver, removed from the list; undefined when nothing is deliverable
   * now (empty, or the next one is still being read back; the list wakes the queue then).
   */
  take(): QueueEntry | undefined;
  /** The entry `take` would return, if it is in memory, without removing it. */
  peek(): QueueEntry | undefined;
  /**
   * When `take` found nothing although `length` is not 0 (the next message is being read back
   * from the store): resolves once an entry is in memory, or the list was emptied, or the read
   * failed. Undefined when `take` would return an entry now, or the list is empty.
   */
  whenReady(): Promise<void> | undefined;
  /**
   * Empty the list (purge, delete). In-memory entries go to `entry`; paged-out ones the store
   * holds go to `paged` with their seq and a stub with only their reference, so the store can
   * settle them without reading them back.
   */
  clear(entry: (e: QueueEntry) => void, paged: (seq: number, m: StoredMessage) => void): void;
}
