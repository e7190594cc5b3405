import type { StoredMessage } from '../../store/store.js';
import type { Message } from '../message.js';
import type { QueueContext } from '../queue-context.js';
import type { QueueEntry } from '../queue-entry.js';
import type { Queue } from '../queue.js';
import { FifoReadyList } from './fifo.js';
import type { ReadyList } from './ready-list.js';

/**
 * x-max-priority: highest priority first, oldest first within a priority (RabbitMQ's classic
 * priority queue). One FifoReadyList per priority level in use, made on the first message of
 * that level, so each level keeps the FIFO's requeue-by-seq, its own paged tail and its own
 * spill stream: paging, read-back and recovery keep working per level. A message's level is
 * its priority property capped at the queue's maximum; no priority is 0.
 *
 * `take` serves the highest non-empty level only: when that level's head is still being read
 * back from the store, nothing is taken from a lower one (that would break the order), and
 * `whenReady` waits for that level.
 */
export class PriorityReadyList implements ReadyList {
  private readonly queue: Queue;
  private readonly ctx: QueueContext;
  private readonly max: number;
  /** Levels by priority; undefined until that priority is first used (at most max + 1). */
  private readonly byPriority: (FifoReadyList | undefined)[];
  /** The levels made so far, highest priority first (what take and length walk). */
  private readonly levels: FifoReadyList[] = [];
  private readonly priorities: number[] = [];

  constructor(queue: Queue, ctx: QueueContext, maxPriority: number) {
    this.queue = queue;
    this.ctx = ctx;
    this.max = maxPriority;
    this.byPriority = new Array<FifoReadyList | undefined>(maxPriority + 1).fill(undefined);
  }

  get length(): number {
    const levels = this.levels;
    let n = 0;
    for (let i = 0; i < levels.length; i++) n += levels[i]!.length;
    return n;
  }

  add(
    message: Message,
    seq: number,
    journaled: boolean,
    redelivered: boolean,
    failures: number,
  ): void {
    this.level(message.priority).add(message, seq, journaled, redelivered, failures);
  }

  requeue(entry: QueueEntry): void {
    this.level(entry.message.priority).requeue(entry);
  }

  take(): QueueEntry | undefined {
    return this.head()?.take();
  }

  peek(): QueueEntry | undefined {
    return this.head()?.peek();
  }

  whenReady(): Promise<void> | undefined {
    return this.head()?.whenReady();
  }

  clear(entry: (e: QueueEntry) => void, paged: (seq: number, m: StoredMessage) => void): void {
    for (const l of this.levels) l.clear(entry, paged);
  }

  /** The highest level holding any message, undefined when all are empty. */
  private head(): FifoReadyList | undefined {
    const levels = this.levels;
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i]!;
      if (l.length !== 0) return l;
    }
    return undefined;
  }

  private level(priority: number): FifoReadyList {
    const p = priority > this.max ? this.max : priority;
    const found = this.byPriority[p];
    if (found !== undefined) return found;
    const made = new FifoReadyList(this.queue, this.ctx);
    this.byPriority[p] = made;
    let i = 0;
    while (i < this.priorities.length && this.priorities[i]! > p) i++;
    this.priorities.splice(i, 0, p);
    this.levels.splice(i, 0, made);
    return made;
  }
}
