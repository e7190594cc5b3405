import type { ClientConnection } from './connection.js';
import type { Queue } from './queue.js';

/**
 * Publisher flow control, in the spirit of RabbitMQ's credit flow: when a queue whose consumers
 * are at work (taking deliveries or settling them) holds more than FLOW_HIGH waiting messages
 * (ready, or set aside behind a busy message group), connections publishing to it stop being
 * read until the backlog is under FLOW_LOW. Without it a fast publisher grows the backlog, and
 * everyone's latency, while the consumers fall behind. A queue without consumers, or whose
 * consumers have gone quiet (a stuck worker) or are far slower than its publishers (see
 * FLOW_PAUSE_SLOW_MS) does not throttle: there a backlog is what the queue is for, as RabbitMQ
 * users expect.
 */
export const FLOW_HIGH = 500;
export const FLOW_LOW = 250;
/**
 * Pacing pays only while consumers nearly keep up: they take a pause's worth (FLOW_HIGH -
 * FLOW_LOW messages) within a few milliseconds, and the publishers lose little. When publishers
 * have been held longer than FLOW_PAUSE_SLOW_MS per pause on average (a moving average over
 * about the last FLOW_PAUSE_SPAN pauses), the consumers are slower than the publishers, and
 * pacing would tie every producer to their pace: a job queue's producers would wait on its
 * workers. The queue then takes the backlog instead, as RabbitMQ does (its credit flow never
 * paces publishers to consumers), until it is down to FLOW_LOW again or has no consumers left.
 * One pause longer than FLOW_PAUSE_MAX_MS says as much by itself (consumers that take a few
 * messages a second from a big backlog would otherwise hold a pause for good). The average
 * starts afresh with a backlog that comes after FLOW_PAUSE_FRESH_MS without pauses.
 */
export const FLOW_PAUSE_SLOW_MS = 40;
export const FLOW_PAUSE_SPAN = 8;
export const FLOW_PAUSE_MAX_MS = FLOW_PAUSE_SLOW_MS * FLOW_PAUSE_SPAN;
export const FLOW_PAUSE_FRESH_MS = 1000;
/** Consumers count as active if they took a delivery or settled one this recently (ms). */
export const FLOW_ACTIVE_MS = 250;
/**
 * A queue whose expiry lags (its head overdue by more than EXPIRY_LAG_HIGH ms) throttles its
 * publishers until the head is no more than EXPIRY_LAG_LOW ms late. Expiring and dead-lettering
 * cost the broker more than accepting a publish, so without it a fast publisher to a TTL queue
 * outruns the expiry, the backlog grows, and every message expires later than its TTL says.
 * Expiry runs on the broker's own timers, so the gate always opens again.
 */
export const EXPIRY_LAG_HIGH = 50;
export const EXPIRY_LAG_LOW = 10;
/**
 * A TTL queue that dead-letters into a queue whose consumers fall behind is a pipeline: what
 * it holds now reaches the target one TTL later. Holding its publishers until the target has
 * caught up (as for any other congested target) overshoots by a TTL's worth of messages, then
 * starves the target's consumers for a TTL while the fresh messages age. Instead the two
 * queues' backlogs are taken together, and the pipeline's own content (the target's take
 * rate times the TTL) is added to the thresholds: publishers wait once both hold more than
 * PIPE_GROW times that plus FLOW_HIGH, and go again at that plus FLOW_LOW. The margin is
 * what lets the pace grow: while the target's consumers have room, their measured pace is
 * only what arrived.
 */
const PIPE_GROW = 2;
/** How often the consumers' take rate is sampled (ms). */
const RATE_MS = 100;

/**
 * One queue's publisher flow control: whether it is congested, judged from its backlog, its
 * consumers' settles and its expiry, and the connections it throttles, released together.
 */
export class QueueFlow {
  private readonly queue: Queue;
  /** A congested dead-letter target of this queue (see `congestion`). */
  private deadLetterBacklog: Queue | undefined = undefined;
  /** When consumers last took or settled a delivery of this queue (performance.now()). */
  private lastSettleAt = 0;
  /**
   * Settled since the last drain, which stamps `lastSettleAt` for them all: one clock read per
   * drain instead of one per ack (a settle with consumers always schedules a drain).
   */
  private settledUnstamped = false;
  /** Pacing does not pay here (see FLOW_PAUSE_SLOW_MS): the backlog is taken, nobody paced. */
  private taking = false;
  /** Moving average of how long publishers were held per pause (ms). */
  private pauseAvg = 0;
  /** When the current pause for the backlog began (performance.now()); 0 when none is. */
  private pausedAt = 0;
  /** When the last pause ended (performance.now()). */
  private openedAt = 0;
  /** Deliveries per ms consumers took lately (see RATE_MS); the sample under way. */
  private rate = 0;
  private rateAt = 0;
  private rateTaken = 0;
  /** TTL queues holding publishers for this queue's backlog (see `congestion`). */
  readonly feeders = new Set<QueueFlow>();
  /** The target whose `feeders` this queue is in while it holds publishers for it. */
  private feeding: Queue | undefined = undefined;
  /** Publishers throttled by this queue's backlog. */
  private waiting: ClientConnection[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(queue: Queue) {
    this.queue = queue;
  }

  /**
   * True when publishers should pause: a backlog builds while consumers work through it, or
   * expiry has fallen behind.
   */
  congested(): boolean {
    const q = this.queue;
    return (q.waitingCount() > FLOW_HIGH && this.pacing()) || q.expiryLags(EXPIRY_LAG_HIGH);
  }

  /** The backlog is over FLOW_HIGH: pace its publishers, unless pacing does not pay. */
  private pacing(): boolean {
    return !this.taking && this.consumersActive();
  }

  /** Consumers are working through this queue: one took or settled a delivery lately. */
  private consumersActive(): boolean {
    return (
      this.queue.consumers.length !== 0 &&
      (this.settledUnstamped || performance.now() - this.lastSettleAt < FLOW_ACTIVE_MS)
    );
  }

  /**
   * The queue whose backlog publishers to this one should wait for, if any: this queue, or the
   * dead-letter target it moved a message to while that was congested, for as long as the
   * target's consumers are busy. Dead-lettering is the broker's own publish, which nothing
   * would slow down, so the source's publishers wait instead (RabbitMQ's credit flow reaches
   * through the dead-letter path the same way).
   */
  congestion(): Queue | undefined {
    if (this.congested()) return this.queue;
    const d = this.target();
    if (d === undefined) return undefined;
    const inPipe = this.inPipe(d);
    if (inPipe === 0) return d.flow.congested() ? d : undefined;
    if (this.queue.waitingCount() + d.waitingCount() <= inPipe * PIPE_GROW + FLOW_HIGH)
      return undefined;
    d.flow.feeders.add(this);
    this.feeding = d;
    return this.queue;
  }

  /** The congested dead-letter target while its consumers are at work (see `congestion`). */
  private target(): Queue | undefined {
    const d = this.deadLetterBacklog;
    if (d === undefined) return undefined;
    if (d.deleted || !d.flow.consumersActive()) {
      this.deadLetterBacklog = undefined;
      return undefined;
    }
    return d;
  }

  /**
   * Messages in the pipeline from this TTL queue to target `d` at `d`'s pace (see RATE_MS);
   * 0 when there is no TTL, the pipeline is shorter than FLOW_HIGH, or `d`'s consumers are
   * slower than pacing is for (FLOW_PAUSE_SLOW_MS): then `d`'s own congestion decides.
   */
  private inPipe(d: Queue): number {
    const ttl = this.queue.policy.messageTtl;
    const rate = d.flow.rate;
    if (ttl === undefined || rate * FLOW_PAUSE_SLOW_MS < FLOW_HIGH - FLOW_LOW) return 0;
    const held = rate * ttl;
    return held < FLOW_HIGH ? 0 : held;
  }

  /** Whether this queue still holds its publishers for a pipeline (see `congestion`). */
  private pipeFull(): boolean {
    const d = this.target();
    if (d === undefined) return false;
    const inPipe = this.inPipe(d);
    return inPipe !== 0 && this.queue.waitingCount() + d.waitingCount() > inPipe + FLOW_LOW;
  }

  /** The dead-letter target this queue's publishers may wait for, if any. */
  get deadLetterTarget(): Queue | undefined {
    return this.deadLetterBacklog;
  }

  /** A dead-lettering from this queue found its target congested (see `congestion`). */
  deadLetterCongested(target: Queue): void {
    if (target !== this.queue) this.deadLetterBacklog = target;
  }

  /** Consumers settled a delivery now (see `settledUnstamped`). */
  noteSettle(): void {
    const q = this.queue;
    if (q.consumers.length !== 0 && !q.deleted) this.settledUnstamped = true;
    else this.lastSettleAt = performance.now();
  }

  /**
   * Consumers took deliveries in this drain: they count as active from their first one on,
   * before any ack (a client busy publishing from the same process may not ack for a while),
   * and a no-ack delivery is settled as it is taken. One that stops taking them (prefetch
   * full and no acks, or a transport that stays full) goes quiet.
   */
  tookDeliveries(n: number): void {
    const now = performance.now();
    this.lastSettleAt = now;
    this.rateTaken += n;
    if (now - this.rateAt >= RATE_MS) {
      // What consumers take with a backlog waiting is their pace, not what arrived.
      // (A window that spans a quiet spell says nothing of it.)
      if (this.queue.waitingCount() !== 0 && now - this.rateAt < 2 * RATE_MS) {
        const r = this.rateTaken / (now - this.rateAt);
        // Up at once (it is the pace fed to them, see PIPE_GROW), down by halves.
        this.rate = r > this.rate ? r : (this.rate + r) / 2;
      }
      this.rateAt = now;
      this.rateTaken = 0;
    }
  }

  /** The queue drains: the settles since its last drain count from now. */
  stampSettles(): void {
    if (this.settledUnstamped) {
      this.settledUnstamped = false;
      this.lastSettleAt = performance.now();
    }
  }

  /** Release throttled publishers once the backlog is small again (or nobody consumes). */
  check(): void {
    const q = this.queue;
    const caughtUp = q.waitingCount() <= FLOW_LOW || q.consumers.length === 0;
    // Caught up: the next backlog is judged afresh.
    if (caughtUp && this.taking) {
      this.taking = false;
      this.pauseAvg = 0;
    }
    if (this.blocked && caughtUp && !q.expiryLags(EXPIRY_LAG_LOW) && !this.pipeFull()) this.open();
    // Sources whose publishers wait for this backlog and theirs together.
    if (this.feeders.size !== 0) for (const f of this.feeders) f.check();
  }

  get blocked(): boolean {
    return this.waiting.length !== 0;
  }

  add(c: ClientConnection): void {
    // Only pauses for the backlog say how fast the consumers are (not those for expiry).
    if (this.waiting.length === 0 && this.queue.waitingCount() > FLOW_HIGH && this.pacing()) {
      const now = performance.now();
      if (now - this.openedAt > FLOW_PAUSE_FRESH_MS) this.pauseAvg = 0;
      this.pausedAt = now;
    }
    this.waiting.push(c);
    this.timer ??= setInterval(() => this.recheck(), FLOW_ACTIVE_MS).unref();
  }

  /**
   * While publishers wait: consumers may have stopped (then the pause says nothing of their
   * pace), or be far too slow to bring the backlog down (see FLOW_PAUSE_MAX_MS).
   */
  private recheck(): void {
    if (!this.consumersActive()) this.pausedAt = 0;
    else if (this.pausedAt !== 0 && performance.now() - this.pausedAt > FLOW_PAUSE_MAX_MS)
      this.taking = true;
    if (!this.congested() && !this.pipeFull()) this.open();
  }

  /** A closing connection leaves the gate (nothing else would drop the reference). */
  remove(c: ClientConnection): void {
    const i = this.waiting.indexOf(c);
    if (i >= 0) this.waiting.splice(i, 1);
    if (this.waiting.length === 0) {
      // Nobody is held any more: no pause to measure, nothing to look at again.
      clearInterval(this.timer);
      this.timer = undefined;
      this.pausedAt = 0;
    }
  }

  /** Let every waiting publisher go (backlog drained, consumers idle or gone, queue deleted). */
  open(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.pausedAt !== 0) {
      const now = performance.now();
      this.pauseAvg += (now - this.pausedAt - this.pauseAvg) / FLOW_PAUSE_SPAN;
      this.pausedAt = 0;
      this.openedAt = now;
      if (this.pauseAvg > FLOW_PAUSE_SLOW_MS) this.taking = true;
    }
    if (this.feeding !== undefined) {
      this.feeding.flow.feeders.delete(this);
      this.feeding = undefined;
    }
    const list = this.waiting;
    this.waiting = [];
    for (const c of list) c.unthrottle(this.queue);
  }
}
