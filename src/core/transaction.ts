import { ResourceError } from './errors.js';
import type { DedupCache } from './dedup.js';
import type { DelayedMessages } from './delayed.js';
import type { Message } from './message.js';
import type { Queue } from './queue.js';
import type { QueueEntry } from './queue-entry.js';
import { Routed } from './routing.js';
import type { Session } from './session.js';
import type { VirtualHost } from './vhost.js';

/** How a held settle ends at commit: ack, reject (dead-letter or drop), or requeue. */
export type SettleFn = (entry: QueueEntry) => void;

/** A publish routed inside a transaction, applied at commit. */
interface HeldPublish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly message: Message;
  /** The queues routing reached at publish time (looked up again by name at commit). */
  readonly queues: Queue[];
  readonly mandatory: boolean;
  /** Delayed exchanges routing reached, and when the message is due there. */
  readonly delays: DelayedMessages[];
  readonly dueAt: number;
  readonly delayMs: number;
  /** Deduplication is checked at commit (the ids are taken then, in publish order). */
  readonly checkDedup: boolean;
  readonly dedupExchange: DedupCache | undefined;
  /** Published with mandatory: a delayed exchange returns it to this session when due. */
  readonly returnTo: Session | undefined;
}

/** What a commit did, for the session to pass on. */
export interface CommitOutcome {
  /** The store refused the commit (nothing of it is durable); else undefined. */
  failed: Error | undefined;
  /** The store had failed for good: earlier writes' fate is unknown too. */
  storeFailed: boolean;
  /** A queue reached whose backlog should hold the publisher back. */
  congested: Queue | undefined;
}

/**
 * An AMQP-style transaction (tx.select / tx.commit / tx.rollback) of one session, as RabbitMQ
 * runs it: publishes are routed when they arrive (a missing exchange fails at once) but held;
 * acks, nacks and rejects are checked and taken out of the session's unacked set at once but
 * held too, still counting against the consumers' prefetch. Commit applies the publishes, then
 * the settles, in arrival order, with the store collecting every write they make (enqueues,
 * settles, dead-letter moves of rejects, drop-head removals) into ONE atomic `store.commit`:
 * after any crash all of the transaction is in the store or none of it. Protocol-free: the
 * session owns it and a protocol reaches it through the session.
 */
export class Transaction {
  private readonly vhost: VirtualHost;
  private publishes: HeldPublish[] = [];
  private settles: QueueEntry[] = [];
  private settleFns: SettleFn[] = [];
  /** Reused to apply each held publish. */
  private readonly routed = new Routed();

  constructor(vhost: VirtualHost) {
    this.vhost = vhost;
  }

  /** Settles held until commit (they still count against the session's prefetch). */
  get heldSettles(): number {
    return this.settles.length;
  }

  get heldPublishes(): number {
    return this.publishes.length;
  }

  /** Keep a routed publish for commit; `r` is the session's reused result. */
  holdPublish(r: Routed, mandatory: boolean): void {
    this.publishes.push({
      exchange: r.exchange,
      routingKey: r.routingKey,
      message: r.message!,
      queues: r.queues.slice(),
      mandatory,
      delays: r.delays.slice(),
      dueAt: r.dueAt,
      delayMs: r.delayMs,
      checkDedup: r.checkDedup,
      dedupExchange: r.dedupExchange,
      returnTo: r.returnTo,
    });
  }

  /** Keep a settle (already out of the session's unacked set) for commit. */
  holdSettle(entry: QueueEntry, fn: SettleFn): void {
    this.settles.push(entry);
    this.settleFns.push(fn);
  }

  /**
   * Apply everything held, as one store commit, and start a new transaction. `release` is the
   * session's bookkeeping for a settled delivery (prefetch credit, timers); `unroutable` hears
   * of each mandatory publish that reached no queue that still exists (AMQP basic.return,
   * sent at commit as RabbitMQ does). Whether the commit is durable: `broker.afterSync`.
   */
  commit(release: SettleFn, unroutable: (m: Message) => void): CommitOutcome {
    const publishes = this.publishes;
    const settles = this.settles;
    const fns = this.settleFns;
    this.publishes = [];
    this.settles = [];
    this.settleFns = [];
    const out: CommitOutcome = { failed: undefined, storeFailed: false, congested: undefined };
    const guard = this.vhost.broker.journal;
    /** Queues the publishes reached, for publisher flow control once they have them. */
    const reached = new Set<Queue>();
    guard.beginBatch();
    try {
      const r = this.routed;
      for (let i = 0; i < publishes.length; i++) {
        const p = publishes[i]!;
        r.reset(p.exchange, p.routingKey, p.message);
        this.liveQueues(p.queues, r.queues);
        // A delayed exchange deleted since takes nothing (and journals nothing).
        for (const d of p.delays)
          if (this.vhost.exchanges.get(d.exchange.name) === d.exchange) r.delays.push(d);
        r.dueAt = p.dueAt;
        r.delayMs = p.delayMs;
        r.returnTo = p.returnTo;
        r.checkDedup = p.checkDedup;
        r.dedupExchange = p.dedupExchange;
        if (r.queues.length === 0 && r.delays.length === 0) {
          if (p.mandatory) unroutable(p.message);
          continue;
        }
        this.vhost.apply(r);
        for (const q of r.queues) reached.add(q);
      }
      for (let i = 0; i < settles.length; i++) {
        const e = settles[i]!;
        release(e);
        fns[i]!(e);
      }
    } finally {
      this.routed.release();
      const refused = guard.endBatch();
      for (const q of reached) {
        const c = q.flow.congestion();
        if (c !== undefined) out.congested = c;
      }
      if (refused !== undefined) {
        // Refused while healthy (a commit past the store's record limit): the publishes are on
        // no queue; the settles happened in memory only, so after a restart their messages
        // are back (redelivered). The client must not take it as committed.
        out.failed = refused.failed
          ? this.vhost.broker.storeFailure()
          : new ResourceError(
              `the store refused the transaction: ${refused.error.message}`,
              'channel',
            );
        out.storeFailed = refused.failed;
      }
    }
    return out;
  }

  /**
   * Drop the held publishes and hand back the held settles: their deliveries are unacked
   * again (as RabbitMQ, a rollback does not requeue them).
   */
  rollback(): QueueEntry[] {
    const held = this.settles;
    this.publishes = [];
    this.settles = [];
    this.settleFns = [];
    return held;
  }

  /**
   * The queues a held publish goes to now: one deleted since is skipped, or replaced by a
   * queue declared since under its name (RabbitMQ routes to queue names and looks them up at
   * commit).
   */
  private liveQueues(routedTo: readonly Queue[], into: Queue[]): void {
    for (const q of routedTo) {
      if (!q.deleted) into.push(q);
      else {
        const live = this.vhost.queues.get(q.name);
        if (live !== undefined && !routedTo.includes(live) && !into.includes(live)) into.push(live);
      }
    }
  }
}
