import type { Queue } from './queue.js';
import { clearArray } from '../util/clear-array.js';

/** How many deliveries one queue makes per turn before it yields to I/O. */
export const DRAIN_BUDGET = 512;

/** Settled once: `then` on it is the cheapest microtask (queueMicrotask adds an AsyncResource). */
const resolved = Promise.resolve();

/**
 * Runs queue drains after the current batch of input has been handled, so one socket chunk
 * with many publishes becomes one pass of deliveries. A queue that used its whole budget
 * goes again on setImmediate, after I/O, so one busy queue cannot starve the sockets.
 *
 * Other end-of-input work (a session's confirm flush) goes through `defer` into the same
 * microtask, in the order it was asked for: at low rates every message is its own turn, and
 * one microtask per turn instead of one per caller is garbage the young generation never sees.
 */
export class DrainScheduler {
  private pending: Queue[] = [];
  /** The list `run` handed back, emptied, for the next swap (no array per turn). */
  private spare: Queue[] = [];
  /** `run` is among the deferred tasks. */
  private drainQueued = false;
  private tasks: (() => void)[] = [];
  private spareTasks: (() => void)[] = [];
  private armed = false;
  private later: Queue[] = [];
  private spareLater: Queue[] = [];
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
    if (!this.drainQueued) {
      this.drainQueued = true;
      this.defer(this.run);
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

  /**
   * Run `fn` in a microtask once the current batch of input is handled, as queueMicrotask
   * would, in order with the drains and other deferred calls. A throw is rethrown on its own
   * (an uncaught exception, as from queueMicrotask) and the rest still run.
   */
  defer(fn: () => void): void {
    this.tasks.push(fn);
    if (!this.armed) {
      this.armed = true;
      void resolved.then(this.runTasks);
    }
  }

  private readonly runTasks = (): void => {
    this.armed = false;
    const tasks = this.tasks;
    // Calls deferred from here on wait for the next microtask, as they would have.
    this.tasks = this.spareTasks;
    for (let i = 0; i < tasks.length; i++) {
      try {
        tasks[i]!();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    clearArray(tasks);
    this.spareTasks = tasks;
  };

  private readonly run = (): void => {
    this.drainQueued = false;
    const list = this.pending;
    this.pending = this.spare;
    for (let i = 0; i < list.length; i++) this.runDrain(list[i]!);
    clearArray(list);
    this.spare = list;
  };

  private readonly runLater = (): void => {
    this.immediate = false;
    const list = this.later;
    this.later = this.spareLater;
    for (let i = 0; i < list.length; i++) this.runDrain(list[i]!);
    clearArray(list);
    this.spareLater = list;
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
