import type { Message } from './message.js';

/**
 * Bytes of message bodies held in memory by queue entries, against the broker's budget. A body
 * counts once however many queues hold it (`refs`). Past the limit, queues page or spill.
 */
export class BodyBudget {
  bytes = 0;
  readonly limit: number;
  /**
   * Bytes of queued messages kept out of memory: paged out (their journal records' sizes)
   * or spilled (their bodies). Only the paging path touches it.
   */
  paged = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  hold(m: Message): void {
    if (m.refs++ === 0) this.bytes += m.bodySize;
  }

  unhold(m: Message): void {
    if (--m.refs === 0) this.bytes -= m.bodySize;
  }

  /** True when new messages should be paged out (journal) or spilled instead of kept. */
  get over(): boolean {
    return this.bytes > this.limit;
  }
}
