import type { DelayedMessages } from './delayed.js';
import type { DedupCache } from './dedup.js';
import type { Exchange } from './exchange.js';
import type { Message } from './message.js';
import { Queue } from './queue.js';
import type { Session } from './session.js';
import { clearArray } from '../util/clear-array.js';

/**
 * Where one publish goes, and then what happened to it. The caller owns it and reuses it
 * (a session keeps one), so routing allocates nothing and a publish made while another is
 * being applied (dead-lettering from a settle, overflow dropping the head) has its own and
 * cannot corrupt the outer one. A transaction keeps one per publish and applies them at
 * commit.
 */
export class Routed {
  exchange = '';
  routingKey = '';
  message: Message | undefined = undefined;
  /** Matched queues, each once. */
  readonly queues: Queue[] = [];
  /** Delayed exchanges (x-delayed-message) that hold it until `dueAt`, each once. */
  readonly delays: DelayedMessages[] = [];
  /** Wall-clock ms the delayed exchanges route it at (with `delays`). */
  dueAt = 0;
  /** The message's x-delay in ms, -1 until a delayed exchange asked (0: none). */
  delayMs = -1;
  /** Published with mandatory: who gets basic.return if a delayed exchange cannot route it. */
  returnTo: Session | undefined = undefined;
  /**
   * A client's publish (not a dead-letter or redrive move): apply checks deduplication ids,
   * of `dedupExchange` (the exchange published to, when it deduplicates) and of the queues.
   */
  checkDedup = false;
  dedupExchange: DedupCache | undefined = undefined;
  // ---- outcome, filled by apply ----
  /** The message is in the store (it was persistent and at least one queue is durable). */
  journaled = false;
  /** A queue it reached whose backlog should hold publishers back (see flow.ts). */
  congested: Queue | undefined = undefined;
  /** The store refused the write: the message was not enqueued anywhere. */
  failed: Error | undefined = undefined;
  /**
   * With `failed`: true when the store failed for good (earlier publishes' fate is unknown
   * too), false when it refused this one message while healthy (it is simply not enqueued).
   */
  storeFailed = false;
  /**
   * A full queue with x-overflow reject-publish(-dlx) refused it (it is on the others): the
   * publisher gets basic.nack, as from RabbitMQ.
   */
  rejected: Queue | undefined = undefined;
  /** A queue or the exchange already held its deduplication id: it skipped those (or all). */
  duplicate = false;
  /** Scratch for the store: durable queue ids and their seqs. */
  readonly storeIds: number[] = [];
  readonly storeSeqs: number[] = [];

  reset(exchange: string, routingKey: string, message: Message): void {
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.message = message;
    clearArray(this.queues);
    clearArray(this.delays);
    this.delayMs = -1;
    this.returnTo = undefined;
    this.checkDedup = false;
    this.dedupExchange = undefined;
    this.duplicate = false;
    this.journaled = false;
    this.congested = undefined;
    this.failed = undefined;
    this.storeFailed = false;
    this.rejected = undefined;
  }

  /** Drop references so a reused result does not keep a message alive. */
  release(): void {
    this.message = undefined;
    clearArray(this.queues);
    clearArray(this.delays);
    this.returnTo = undefined;
    this.congested = undefined;
    this.rejected = undefined;
    this.dedupExchange = undefined;
  }
}

/** Reads a message's application headers (headers exchanges). */
export type HeadersOf = (m: Message) => Readonly<Record<string, unknown>> | undefined;

/** A message's x-delay in ms (0: none), read only when a delayed exchange is reached. */
export type DelayOf = (m: Message) => number;

/**
 * The routing walk: exchange-to-exchange bindings, alternate exchanges. Each exchange is
 * visited once per walk and a queue reached twice gets one copy, tracked with a generation
 * mark on exchanges and queues. A walk never calls out, so it is never re-entered.
 */
export class Router {
  private gen = 0;
  private readonly exchanges: ReadonlyMap<string, Exchange>;
  private readonly headersOf: HeadersOf;
  private readonly delayOf: DelayOf;

  constructor(exchanges: ReadonlyMap<string, Exchange>, headersOf: HeadersOf, delayOf: DelayOf) {
    this.exchanges = exchanges;
    this.headersOf = headersOf;
    this.delayOf = delayOf;
  }

  /** Fill `into.queues` with the queues `ex` routes the message to. */
  route(ex: Exchange, into: Routed): void {
    this.walk(ex, into, ++this.gen);
  }

  private walk(ex: Exchange, into: Routed, gen: number): number {
    if (ex.routeMark === gen) return 0;
    ex.routeMark = gen;
    // A delayed exchange keeps a message with a positive x-delay; it routes it when due.
    if (ex.delayed !== undefined && this.delays(ex.delayed, into)) return 1;
    let reached = 0;
    const matched = ex.match(into.routingKey, into.message!, this.headersOf);
    for (let i = 0; i < matched.length; i++) {
      const dest = matched[i]!.destination;
      if (dest instanceof Queue) {
        reached++;
        if (dest.routeMark !== gen) {
          dest.routeMark = gen;
          into.queues.push(dest);
        }
      } else {
        reached += this.walk(dest, into, gen);
      }
    }
    if (reached === 0) {
      const aeName = ex.alternateExchange;
      const ae = aeName === undefined ? undefined : this.exchanges.get(aeName);
      if (ae !== undefined) reached += this.walk(ae, into, gen);
    }
    return reached;
  }

  private delays(d: DelayedMessages, into: Routed): boolean {
    if (into.delayMs < 0) {
      into.delayMs = this.delayOf(into.message!);
      into.dueAt = Date.now() + into.delayMs;
    }
    if (into.delayMs === 0) return false;
    if (!into.delays.includes(d)) into.delays.push(d);
    return true;
  }
}
