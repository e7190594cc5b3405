import type { FastifyInstance } from 'fastify';
import type { Broker } from '../../core/broker.js';
import { isInternal, type HttpContext } from './context.js';
import { churnCounters, queueCounters, vhostCounters, type Values } from './message-stats.js';

/** RabbitMQ's basic-mode sample interval: rates are per second over the last 5 s. */
export const SAMPLE_INTERVAL_MS = 5_000;

interface Snapshot {
  at: number;
  values: Map<object, Values>;
}

/**
 * Samples the broker's counters every 5 s and answers `*_details: {rate}` as RabbitMQ's basic
 * mode: the change per second between the last two samples. The management server starts it
 * with itself, so a one-off caller (`baton status`, a script) sees real rates at once; one walk
 * over the queues every 5 s, unref'd.
 */
export class Rates {
  private readonly broker: Broker;
  private readonly intervalMs: number;
  private previous: Snapshot | undefined;
  private current: Snapshot | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(broker: Broker, intervalMs = SAMPLE_INTERVAL_MS) {
    this.broker = broker;
    this.intervalMs = intervalMs;
  }

  /** Per-second change of `field` of `key` (a vhost, queue or connection); 0 until known. */
  rate(key: object, field: string): number {
    if (this.timer === undefined) this.start();
    const a = this.previous;
    const b = this.current;
    if (a === undefined || b === undefined) return 0;
    const from = a.values.get(key)?.[field];
    const to = b.values.get(key)?.[field];
    if (from === undefined || to === undefined) return 0;
    const r = ((to - from) * 1000) / (b.at - a.at);
    return Math.round(r * 10) / 10;
  }

  /** `{rate}` as RabbitMQ's `*_details`. */
  details(key: object, field: string): { rate: number } {
    return { rate: this.rate(key, field) };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.previous = this.current = undefined;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.current = this.sample();
    this.timer = setInterval(() => {
      this.previous = this.current;
      this.current = this.sample();
    }, this.intervalMs);
    this.timer.unref();
  }

  private sample(): Snapshot {
    const values = new Map<object, Values>();
    for (const v of this.broker.vhosts.values()) {
      const totals: Values = { messages: 0, messages_ready: 0, messages_unacknowledged: 0 };
      for (const q of v.queues.values()) {
        const ready = q.messageCount;
        const q1: Values = {
          messages: ready + q.unackedCount,
          messages_ready: ready,
          messages_unacknowledged: q.unackedCount,
        };
        totals.messages! += q1.messages!;
        totals.messages_ready! += ready;
        totals.messages_unacknowledged! += q.unackedCount;
        Object.assign(q1, queueCounters(q.stats));
        values.set(q, q1);
      }
      Object.assign(totals, vhostCounters(v.stats), churnCounters(v.stats));
      values.set(v, totals);
    }
    for (const c of this.broker.connections) {
      const d = c.details;
      if (d === undefined || isInternal(c)) continue;
      values.set(c, { recv_oct: d.recvOct, send_oct: d.sendOct });
    }
    return { at: Date.now(), values };
  }
}

const byContext = new WeakMap<HttpContext, Rates>();

/** The app's one sampler, stopped when the app closes. */
export function ratesFor(app: FastifyInstance, ctx: HttpContext): Rates {
  let r = byContext.get(ctx);
  if (r === undefined) {
    const rates = new Rates(ctx.broker);
    rates.start();
    byContext.set(ctx, rates);
    app.addHook('onClose', (_app, done) => {
      rates.stop();
      done();
    });
    r = rates;
  }
  return r;
}
