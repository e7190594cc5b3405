import type { ClientConnection } from './connection.js';
import type { Queue } from './queue.js';

/**
 * Publisher flow control, in the spirit of RabbitMQ's credit flow: when a queue whose consumers
 * are actively settling (acks, or no-ack deliveries taken) holds more than FLOW_HIGH waiting
 * messages (ready, or set aside behind a busy message group), connections publishing to it
 * stop being read until the backlog is under FLOW_LOW. Without it a fast publisher grows the
 * backlog, and everyone's latency, while the consumers fall behind. A queue without consumers,
 * or whose consumers have gone quiet (a stuck or slow worker), never throttles: there a
 * backlog is what the queue is for, as RabbitMQ users expect.
 */
export const FLOW_HIGH = 500;
export const FLOW_LOW = 250;
/** Consumers count as active if the queue saw an ack this recently (ms). */
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

/** The throttled connections of one queue, released together. */
export class FlowGate {
  private waiting: ClientConnection[] = [];
  private timer: NodeJS.Timeout | undefined;

  get blocked(): boolean {
    return this.waiting.length !== 0;
  }

  add(queue: Queue, c: ClientConnection): void {
    this.waiting.push(c);
    // Consumers may stop acking while publishers wait: look again now and then.
    this.timer ??= setInterval(() => {
      if (!queue.congested()) this.open(queue);
    }, FLOW_ACTIVE_MS).unref();
  }

  /** A closing connection leaves the gate (nothing else would drop the reference). */
  remove(c: ClientConnection): void {
    const i = this.waiting.indexOf(c);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Let every waiting publisher go (backlog drained, consumers idle or gone, queue deleted). */
  open(queue: Queue): void {
    clearInterval(this.timer);
    this.timer = undefined;
    const list = this.waiting;
    this.waiting = [];
    for (const c of list) c.unthrottle(queue);
  }
}
