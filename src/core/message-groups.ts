import type { QueueEntry } from './queue-entry.js';

/** Negative when `a` is delivered before `b` in the queue's order (seq; priority first). */
export type DeliveryOrder = (a: QueueEntry, b: QueueEntry) => number;

/** A FIFO queue's order. */
export const bySeq: DeliveryOrder = (a, b) => a.seq - b.seq;

/**
 * How many entries a queue sets aside for busy groups before it stops looking further down
 * the ready list. Past it, messages behind wait (order still holds, parallelism drops): a
 * backlog of one busy group must not be read into memory whole.
 */
export const MAX_HELD = 10_000;

/**
 * Message groups (header x-group-id, or JMSXGroupID): at most one message of a group is out
 * at a time, so each group is processed in order while different groups go to different
 * consumers, as an SQS FIFO queue does. The entry that holds a group keeps it while it is
 * unacked and also while it waits to be delivered again (requeued, retry delay), so nothing
 * of its group can overtake it. Entries of a busy group met at the head of the ready list
 * are set aside here, in the queue's delivery order, and the first goes back to the ready list
 * (at its place) when the group is released.
 */
export class MessageGroups {
  private readonly order: DeliveryOrder;
  /** The entry holding each busy group. */
  private readonly holders = new Map<string, QueueEntry>();
  /** Entries set aside per busy group, first to deliver first. */
  private readonly held = new Map<string, QueueEntry[]>();
  /** Entries set aside, over all groups (they count as ready messages). */
  heldCount = 0;
  /** Body bytes of the entries set aside (x-max-length-bytes). */
  heldBytes = 0;

  constructor(order: DeliveryOrder) {
    this.order = order;
  }

  /**
   * Whether `entry` (of group `group`) may be delivered now. If so it holds the group from
   * now on; if not it is set aside until the group is released.
   */
  admit(entry: QueueEntry, group: string): boolean {
    const holder = this.holders.get(group);
    if (holder === undefined || holder === entry) {
      this.holders.set(group, entry);
      entry.group = group;
      return true;
    }
    let list = this.held.get(group);
    if (list === undefined) this.held.set(group, (list = []));
    // Usually the last (entries arrive in delivery order); a requeue or a priority may not be.
    let i = list.length;
    while (i > 0 && this.order(list[i - 1]!, entry) > 0) i--;
    if (i === list.length) list.push(entry);
    else list.splice(i, 0, entry);
    this.heldCount++;
    this.heldBytes += entry.message.bodySize;
    return false;
  }

  /** Whether the ready list may be searched further (see MAX_HELD). */
  get canHoldMore(): boolean {
    return this.heldCount < MAX_HELD;
  }

  /**
   * `entry` left the queue for good (settled, expired, dropped): if it held its group, the
   * group is free and its oldest entry set aside is returned, to go back to the ready list.
   */
  release(entry: QueueEntry): QueueEntry | undefined {
    const group = entry.group;
    if (group === undefined) return undefined;
    entry.group = undefined;
    if (this.holders.get(group) !== entry) return undefined;
    this.holders.delete(group);
    const list = this.held.get(group);
    if (list === undefined) return undefined;
    const next = list.shift()!;
    if (list.length === 0) this.held.delete(group);
    this.heldCount--;
    this.heldBytes -= next.message.bodySize;
    return next;
  }

  /** Drop-head: take the first entry set aside (of any group), undefined when none. */
  takeFirst(): QueueEntry | undefined {
    for (const [group, list] of this.held) {
      const e = list.shift()!;
      if (list.length === 0) this.held.delete(group);
      this.heldCount--;
      this.heldBytes -= e.message.bodySize;
      return e;
    }
    return undefined;
  }

  /**
   * Purge or delete: every entry set aside goes to `each`, and groups held by entries that
   * were waiting in the queue (not out with a consumer) are free again.
   */
  clear(each: (e: QueueEntry) => void): void {
    for (const list of this.held.values()) for (const e of list) each(e);
    this.held.clear();
    this.heldCount = 0;
    this.heldBytes = 0;
    for (const [group, holder] of this.holders) {
      if (holder.session === undefined) {
        holder.group = undefined;
        this.holders.delete(group);
      }
    }
  }
}
