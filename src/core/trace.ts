import { connectionName, Firehose, TRACE_EXCHANGE } from './firehose.js';
import type { Message } from './message.js';
import type { Queue, RemovalReason } from './queue.js';
import type { QueueEntry } from './queue-entry.js';
import type { Routed } from './routing.js';
import type { Session } from './session.js';
import type { VirtualHost } from './vhost.js';

export { TRACE_EXCHANGE };

/** What happened to a message, in the order a message's life can see them. */
export type TraceEventKind =
  | 'published'
  | 'routed'
  | 'returned'
  | 'unroutable'
  | 'delivered'
  | 'acked'
  | 'nacked'
  | 'requeued'
  | 'expired'
  | 'maxlen'
  | 'delivery_limit'
  | 'dead-lettered'
  | 'redriven'
  | 'purged'
  | 'deleted';

/** One event of a message's life. Fields that do not apply are absent. */
export interface TraceEvent {
  /** Date.now() ms. */
  readonly time: number;
  readonly event: TraceEventKind;
  readonly queue?: string;
  readonly exchange?: string;
  readonly routingKey?: string;
  /** Queues it went to (routed, dead-lettered). */
  readonly queues?: readonly string[];
  /** Delayed exchanges holding it until due (routed). */
  readonly delayedBy?: readonly string[];
  readonly user?: string;
  readonly connection?: string;
  readonly channel?: number;
  /** The consumer it went to, or 'get' for basic.get. */
  readonly consumerTag?: string;
  readonly noAck?: boolean;
  readonly redelivered?: boolean;
  readonly requeue?: boolean;
  /** Why it was dead-lettered (RabbitMQ's x-death reason). */
  readonly reason?: string;
  /** Where a redrive moved it. */
  readonly to?: string;
}

/** A message id's recorded life. */
export interface TracedMessage {
  readonly messageId: string;
  readonly events: readonly TraceEvent[];
  /** Older events dropped for the per-message cap. */
  readonly dropped: number;
}

/** Bounds of a vhost's trace log: memory stays bounded however long tracing is on. */
export const TRACE_LIMITS = {
  /** Message ids kept; the one least recently seen goes first. */
  ids: 1000,
  /** Events kept per message id; the oldest go first (publish excepted). */
  eventsPerId: 64,
} as const;

interface Life {
  events: TraceEvent[];
  dropped: number;
}

/**
 * A vhost's tracing (off by default, switched at runtime, not kept across a restart, as
 * RabbitMQ's trace_on): RabbitMQ's firehose (copies of every publish and delivery to
 * `amq.rabbitmq.trace`) and a bounded log of each message's life, by message-id. Messages
 * without a message-id are not in the log (they are in the firehose). Every hook in the
 * core is guarded by `on`, so tracing off costs one boolean test.
 */
export class Tracer {
  /** The tracer of a queue outside any vhost (a test's): never on. */
  static readonly OFF = new Tracer(undefined);

  on = false;
  private readonly vhost: VirtualHost | undefined;
  private readonly firehose: Firehose | undefined;
  /** Message id → its life; Map order is least recently seen first. */
  private readonly lives = new Map<string, Life>();

  constructor(vhost: VirtualHost | undefined) {
    this.vhost = vhost;
    this.firehose = vhost === undefined ? undefined : new Firehose(vhost);
  }

  /** Turn tracing on or off. Off forgets the log. */
  set(on: boolean): void {
    if (this === Tracer.OFF) return;
    this.on = on;
    if (!on) this.lives.clear();
  }

  // ---- reading ------------------------------------------------------------------------

  life(messageId: string): TracedMessage | undefined {
    const l = this.lives.get(messageId);
    return l === undefined ? undefined : { messageId, events: [...l.events], dropped: l.dropped };
  }

  /** Traced message ids, most recently seen first, at most `limit`. */
  recent(
    limit: number = TRACE_LIMITS.ids,
  ): { messageId: string; last: TraceEvent; events: number }[] {
    const out = [];
    const ids = [...this.lives.keys()];
    for (let i = ids.length - 1; i >= 0 && out.length < limit; i--) {
      const l = this.lives.get(ids[i]!)!;
      out.push({
        messageId: ids[i]!,
        last: l.events[l.events.length - 1]!,
        events: l.events.length,
      });
    }
    return out;
  }

  // ---- hooks (called only while `on`) ---------------------------------------------------

  /** A client publish, routed (and not yet applied): firehose `publish.<exchange>`, log. */
  published(s: Session, r: Routed, mandatory: boolean): void {
    const m = r.message!;
    if (r.exchange === TRACE_EXCHANGE) return; // never trace the trace (no loops)
    const queues = r.queues.map((q) => q.name);
    this.firehose?.published(s, r, queues);
    const id = this.idOf(m);
    if (id === undefined) return;
    const who = whoOf(s);
    const base = { exchange: r.exchange, routingKey: r.routingKey };
    this.add(id, { time: Date.now(), event: 'published', ...base, ...who });
    if (queues.length !== 0 || r.delays.length !== 0) {
      const delayedBy = r.delays.map((d) => d.exchange.name);
      this.add(id, {
        time: Date.now(),
        event: 'routed',
        queues,
        ...(delayedBy.length !== 0 && { delayedBy }),
      });
    } else
      this.add(id, { time: Date.now(), event: mandatory ? 'returned' : 'unroutable', ...base });
  }

  /** A delayed exchange's message came due and was routed (`r` applied). */
  due(exchange: string, r: Routed): void {
    const id = this.idOf(r.message!);
    if (id === undefined) return;
    this.add(id, {
      time: Date.now(),
      event: 'routed',
      exchange,
      queues: r.queues.map((q) => q.name),
    });
  }

  /** A delivery to a consumer (`consumerTag`) or basic.get (undefined): firehose, log. */
  delivered(
    q: Queue,
    e: QueueEntry,
    s: Session,
    consumerTag: string | undefined,
    noAck: boolean,
  ): void {
    const m = e.message;
    if (m.exchange === TRACE_EXCHANGE) return;
    this.firehose?.delivered(s, q, e);
    const id = this.idOf(m);
    if (id === undefined) return;
    this.add(id, {
      time: Date.now(),
      event: 'delivered',
      queue: q.name,
      consumerTag: consumerTag ?? 'get',
      noAck,
      redelivered: e.redelivered,
      ...whoOf(s),
    });
  }

  /** A message left `q` for good (before any dead-lettering of it). */
  removed(q: Queue, m: Message, reason: RemovalReason): void {
    const id = this.idOf(m);
    if (id === undefined) return;
    const event = reason === 'rejected' ? 'nacked' : reason;
    this.add(id, {
      time: Date.now(),
      event,
      queue: q.name,
      ...(reason === 'rejected' && { requeue: false }),
    });
  }

  /** An unsettled delivery came back to `q`: by a client's nack/reject, or otherwise. */
  requeued(q: Queue, m: Message, byNack: boolean): void {
    const id = this.idOf(m);
    if (id === undefined) return;
    this.add(
      id,
      byNack
        ? { time: Date.now(), event: 'nacked', queue: q.name, requeue: true }
        : { time: Date.now(), event: 'requeued', queue: q.name },
    );
  }

  /** Purge or delete of `q` took these (in memory) messages. */
  removedAll(q: Queue, messages: readonly Message[], event: 'purged' | 'deleted'): void {
    for (const m of messages) {
      const id = this.idOf(m);
      if (id !== undefined) this.add(id, { time: Date.now(), event, queue: q.name });
    }
  }

  deadLettered(q: Queue, m: Message, reason: RemovalReason, r: Routed): void {
    const id = this.idOf(m);
    if (id === undefined) return;
    this.add(id, {
      time: Date.now(),
      event: 'dead-lettered',
      queue: q.name,
      reason,
      exchange: r.exchange,
      routingKey: r.routingKey,
      queues: r.queues.map((x) => x.name),
    });
  }

  redriven(from: Queue, to: Queue, m: Message): void {
    const id = this.idOf(m);
    if (id !== undefined)
      this.add(id, { time: Date.now(), event: 'redriven', queue: from.name, to: to.name });
  }

  // ---- the log --------------------------------------------------------------------------

  private idOf(m: Message): string | undefined {
    if (m.exchange === TRACE_EXCHANGE || this.vhost === undefined) return undefined;
    const id = this.vhost.broker.properties.of(m).messageId;
    return id === undefined || id === '' ? undefined : String(id);
  }

  private add(id: string, e: TraceEvent): void {
    let l = this.lives.get(id);
    if (l === undefined) {
      l = { events: [], dropped: 0 };
      if (this.lives.size >= TRACE_LIMITS.ids) {
        const oldest = this.lives.keys().next().value as string;
        this.lives.delete(oldest);
      }
    } else this.lives.delete(id); // seen again: the most recent now
    this.lives.set(id, l);
    if (l.events.length >= TRACE_LIMITS.eventsPerId) {
      // Keep the first (where it came from): drop the oldest after it.
      l.events.splice(1, 1);
      l.dropped++;
    }
    l.events.push(e);
  }
}

/** Who did it: for the log and the firehose. */
function whoOf(s: Session): { user: string; connection: string; channel: number } {
  return {
    user: s.connection.principal.user,
    connection: connectionName(s.connection),
    channel: s.number,
  };
}
