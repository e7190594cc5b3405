import { ResourceError } from './errors.js';
import type { Queue } from './queue.js';
import type { Routed } from './routing.js';
import type { Session } from './session.js';

/**
 * Publisher confirms of one session (AMQP confirm.select): publishes are numbered 1, 2, 3 …,
 * and once per event-loop turn the session waits for one store sync covering all of them, then
 * acks (multiple) up to the newest accepted one. A publish the queues refused is nacked at once
 * (a nack means "not enqueued"); a failed store leaves the rest unconfirmed and says so once.
 */
export class PublisherConfirms {
  private readonly session: Session;
  private publishSeq = 0;
  private confirmedSeq = 0;
  /** Highest publish seq not nacked, and the highest one acked: a nacked seq is never acked. */
  private lastAccepted = 0;
  private ackedSeq = 0;
  /** Publishes accepted (not nacked), those an in-flight sync covers, and those acked. */
  private acceptedCount = 0;
  private syncAccepted = 0;
  private ackedCount = 0;
  private armed = false;
  private waitingForSync = false;
  /** Highest publish seq the in-flight afterSync covers, and the highest to ack of those. */
  private syncCovers = 0;
  private syncAcks = 0;
  private failedTold = false;
  /**
   * A publish since the last sync wait began wrote to the store. Without one the confirm need
   * not wait for a sync (another session's fsync, say): a transient publish is confirmed once
   * its queues hold it, as RabbitMQ does — an RPC's reply can otherwise overtake its ack.
   */
  private needsSync = false;

  constructor(session: Session) {
    this.session = session;
  }

  /** Publishes numbered and not confirmed yet. */
  get unconfirmed(): number {
    return this.publishSeq - this.confirmedSeq;
  }

  /** Number one applied publish and arrange its confirm (or nack it now). */
  published(r: Routed): void {
    const seq = ++this.publishSeq;
    const handler = this.session.handler;
    // Refused by a healthy store: not enqueued, so it is nacked (a nack means just that). A
    // failed store leaves it unconfirmed, told through confirmsFailed.
    if (r.failed !== undefined && !r.storeFailed) handler.refused?.(seq, r.failed);
    else if (r.rejected !== undefined) handler.refused?.(seq, queueFull(r.rejected));
    else {
      this.lastAccepted = seq;
      this.acceptedCount++;
    }
    if (r.journaled) this.needsSync = true;
    if (this.armed) return;
    this.armed = true;
    // In the drains' microtask, after the drain this publish asked for (one per turn).
    this.session.vhost.broker.scheduler.defer(this.flush);
  }

  /** Wait for the store once for everything published so far. */
  private readonly flush = (): void => {
    this.armed = false;
    if (this.session.closed || this.waitingForSync || this.publishSeq === this.confirmedSeq) return;
    this.waitingForSync = true;
    this.syncCovers = this.publishSeq;
    this.syncAcks = this.lastAccepted;
    this.syncAccepted = this.acceptedCount;
    if (!this.needsSync && !this.failedTold) return this.onSynced(undefined);
    this.needsSync = false;
    this.session.vhost.broker.afterSync(this.onSynced);
  };

  private readonly onSynced = (err: Error | undefined): void => {
    this.waitingForSync = false;
    const session = this.session;
    if (session.closed) return;
    if (err !== undefined) {
      // Sticky: every later wait fails too, and the handler hears it once.
      if (!this.failedTold) session.handler.confirmsFailed?.(err);
      this.failedTold = true;
      return;
    }
    const upto = this.syncCovers;
    if (upto > this.confirmedSeq) this.confirmedSeq = upto;
    // Ack up to the newest accepted publish only: an ack (multiple) naming a seq already
    // nacked confirms it twice, which pika's BlockingChannel takes as a protocol error.
    if (this.syncAcks > this.ackedSeq) {
      this.ackedSeq = this.syncAcks;
      session.vhost.stats.confirmed += this.syncAccepted - this.ackedCount;
      this.ackedCount = this.syncAccepted;
      session.handler.confirmed?.(this.syncAcks);
    }
    if (this.publishSeq !== this.confirmedSeq) this.flush();
  };
}

function queueFull(q: Queue): ResourceError {
  return new ResourceError(
    `queue '${q.name}' in vhost '${q.vhostName}' is full (x-overflow ${q.policy.overflow})`,
  );
}
