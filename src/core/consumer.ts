import type { Queue } from './queue.js';
import type { Session } from './session.js';

export interface ConsumeOptions {
  /** Consumer tag; the session generates one when empty. */
  tag?: string;
  noAck?: boolean;
  exclusive?: boolean;
  /** Per-consumer unacked limit, 0 for none. Defaults to the session's consumer prefetch. */
  prefetch?: number;
  arguments?: Record<string, unknown>;
}

/** A push subscription of a session to a queue, with its own credit. */
export class Consumer {
  readonly tag: string;
  readonly queue: Queue;
  readonly session: Session;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly arguments: Record<string, unknown>;
  prefetch: number;
  unacked = 0;
  /** Set when the protocol cannot take more right now (socket back-pressure). */
  paused = false;
  cancelled = false;

  constructor(session: Session, queue: Queue, tag: string, options: ConsumeOptions) {
    this.session = session;
    this.queue = queue;
    this.tag = tag;
    this.noAck = options.noAck ?? false;
    this.exclusive = options.exclusive ?? false;
    this.arguments = options.arguments ?? {};
    this.prefetch = options.prefetch ?? session.consumerPrefetch;
  }

  /** Whether this consumer may take one more delivery now. */
  hasCredit(): boolean {
    if (this.paused || this.cancelled) return false;
    const s = this.session;
    if (!s.flowActive) return false;
    if (this.noAck) return true;
    if (this.prefetch !== 0 && this.unacked >= this.prefetch) return false;
    return s.prefetch === 0 || s.unackedCount < s.prefetch;
  }

  /** Lift back-pressure and let the queue deliver again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.queue.scheduleDrain();
  }
}
