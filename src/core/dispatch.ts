import type { Queue } from './queue.js';

/** How many deliveries one queue makes per turn before it yields to I/O. */
export const DRAIN_BUDGET = 512;

/**
 * Runs queue drains after the current batch of input has been handled, so one socket chunk
 * with many publishes becomes one pass of deliveries. A queue that used its whole budget
 * goes again on setImmediate, after I/O, so one busy queue cannot starve the sockets.
 */
export class DrainScheduler {
  private pending: Queue[] = [];
  private microtask = false;
  private later: Queue[] = [];
  private immediate = false;
  /** A drain runs outside any caller that could catch: a bug is reported, contained to one queue. */
  private readonly onError: (err: unknown, context: string) => void;

  constructor(onError: (err: unknown, context: string) => void) {
    this.onError = onError;
  }

  add(queue: Queue): void {
    if (queue.drainScheduled) return;
    queue.drainScheduled = true;
    this.pending.push(queue);
    if (!this.microtask) {
      this.microtask = true;
      queueMicrotask(this.run);
    }
  }

  /** For a queue that ran out of budget: continue after the event loop has polled I/O. */
  addLater(queue: Queue): void {
    if (queue.drainScheduled) return;
    queue.drainScheduled = true;
    this.later.push(queue);
    if (!this.immediate) {
      this.immediate = true;
      setImmediate(this.runLater);
    }
  }

  private readonly run = (): void => {
    this.microtask = false;
    const list = this.pending;
    this.pending = [];
    for (const q of list) this.runDrain(q);
  };

  private readonly runLater = (): void => {
    this.immediate = false;
    const list = this.later;
    this.later = [];
    for (const q of list) this.runDrain(q);
  };

  private runDrain(q: Queue): void {
    q.drainScheduled = false;
    try {
      q.drain();
    } catch (err) {
      this.onError(err, `queue '${q.name}': delivery failed`);
    }
  }
}
