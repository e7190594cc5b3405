import type { RetryBackoff } from './queue-policy.js';
import type { QueueEntry } from './queue-entry.js';

/**
 * The delay before a message that failed `failures` deliveries is ready again (LavinMQ's
 * x-delayed-retry-*): multiplier unset is linear (min × failures), 1 is constant, ≥ 2 is
 * exponential (min × multiplier^(failures - 1)); never more than max.
 */
export function retryDelay(b: RetryBackoff, failures: number): number {
  const n = Math.max(1, failures);
  let d: number;
  if (b.multiplier === undefined) d = b.minMs * n;
  else if (b.multiplier <= 1) d = b.minMs;
  else d = b.minMs * Math.pow(b.multiplier, Math.min(n - 1, 1000));
  if (b.maxMs !== undefined && d > b.maxMs) d = b.maxMs;
  return Number.isFinite(d) ? d : (b.maxMs ?? Number.MAX_SAFE_INTEGER);
}

/**
 * Requeued entries waiting out their retry delay: a min-heap by `readyAt` (ties by seq, so
 * entries due together come back in queue order). Only the failure path pays for it.
 */
export class RetryDelays {
  private readonly heap: QueueEntry[] = [];

  get length(): number {
    return this.heap.length;
  }

  /** The earliest `readyAt`, Infinity when empty. */
  get next(): number {
    return this.heap[0]?.readyAt ?? Infinity;
  }

  push(e: QueueEntry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Remove and return the earliest entry if it is due at `now`. */
  popDue(now: number): QueueEntry | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined || top.readyAt > now) return undefined;
    const last = h.pop()!;
    if (h.length !== 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    top.readyAt = 0;
    return top;
  }

  /** Remove every entry (purge, delete). */
  clear(each: (e: QueueEntry) => void): void {
    for (const e of this.heap) {
      e.readyAt = 0;
      each(e);
    }
    this.heap.length = 0;
  }
}

function before(a: QueueEntry, b: QueueEntry): boolean {
  return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
}
