import type { StoreOp } from '../store/store.js';
import type { MessageProperties } from './message-properties.js';
import type { Queue, RemovalReason } from './queue.js';
import type { QueueEntry } from './queue-entry.js';
import { Routed } from './routing.js';
import type { VirtualHost } from './vhost.js';

/** One x-death entry as RabbitMQ writes it (3.x): newest first, one per (queue, reason). */
type Death = Record<string, unknown>;

/**
 * Dead-lettering (x-dead-letter-exchange, x-dead-letter-routing-key): a message that leaves
 * a queue for a dead-letter reason is republished, as a copy with `x-death` written exactly
 * as RabbitMQ does, to the queue's dead-letter exchange. The copy's enqueue and the source's
 * settle are one atomic store commit, so after any crash the message is in exactly one of
 * the two queues.
 */
export class DeadLetters {
  private readonly vhost: VirtualHost;

  /** Dead-letterings in progress on the stack: one may cause another (overflow with DLX). */
  private depth = 0;

  constructor(vhost: VirtualHost) {
    this.vhost = vhost;
  }

  /** The queue's removal hook: true when the message was moved (or dropped by RabbitMQ's rules). */
  readonly hook = (queue: Queue, entry: QueueEntry, reason: RemovalReason): boolean => {
    const dlx = queue.policy.deadLetterExchange;
    if (dlx === undefined) return false;
    // A full reject-publish-dlx queue dead-lettering into itself (or two into each other)
    // would refuse and dead-letter the copy again for ever; the cycle rule does not stop it
    // once a rejection is in x-death. RabbitMQ loops asynchronously; Baton drops it.
    if (this.depth >= MAX_DEPTH) {
      this.vhost.broker.reportError(
        new Error(`dead-lettering from queue '${queue.name}' loops (${reason}): message dropped`),
        `queue '${queue.name}': dead-letter loop`,
      );
      return false;
    }
    this.depth++;
    try {
      return this.move(queue, entry, reason, dlx);
    } finally {
      this.depth--;
    }
  };

  private move(queue: Queue, entry: QueueEntry, reason: RemovalReason, dlx: string): boolean {
    const vhost = this.vhost;
    const source = entry.message;
    if (source.body === undefined) return false; // never the case: settled entries were delivered
    const props = vhost.broker.properties;
    const dlrk = queue.policy.deadLetterRoutingKey;
    const routingKey = dlrk ?? source.routingKey;
    // CC keys are routing keys too (x-death lists them). Without a dead-letter routing key the
    // copy keeps CC, so routing it uses them again, as RabbitMQ; with one, CC is dropped.
    const cc = props.senderKeys(source)?.cc ?? [];
    const copy = props.withProperties(source, (p) => {
      const next = withDeath(p, queue, source, reason, cc);
      if (dlrk !== undefined && next.headers !== undefined) delete next.headers.CC;
      return next;
    });
    copy.exchange = dlx;
    copy.routingKey = routingKey;
    const r = new Routed();
    try {
      vhost.route(dlx, routingKey, copy, r, true);
    } catch (err) {
      // A dead-letter exchange that does not exist: RabbitMQ drops the message.
      vhost.broker.reportError(
        err,
        `queue '${queue.name}': dead-letter exchange missing, message dropped`,
      );
      return false;
    }
    dropCycles(r, props.headers(copy)?.['x-death']);
    const settle: StoreOp | undefined = entry.journaled
      ? { op: 'settle', queueId: queue.id, seq: entry.seq, message: source }
      : undefined;
    vhost.apply(r, settle);
    if (r.failed !== undefined && !r.storeFailed) {
      // Refused by a healthy store: keep the source's own settle so nothing is in two places.
      vhost.broker.reportError(r.failed, `queue '${queue.name}': dead-lettering refused`);
      return false;
    }
    if (r.congested !== undefined) queue.flow.deadLetterCongested(r.congested);
    if (vhost.tracing) vhost.tracer.deadLettered(queue, source, reason, r);
    return true;
  }
}

/** Nested dead-letterings allowed before a loop is assumed. */
const MAX_DEPTH = 8;

/** RabbitMQ's x-death update: the (queue, reason) entry counts up and moves to the front. */
function withDeath(
  p: MessageProperties,
  queue: Queue,
  source: { exchange: string; routingKey: string },
  reason: RemovalReason,
  cc: readonly string[],
): MessageProperties {
  const headers: Record<string, unknown> = { ...p.headers };
  const deaths = Array.isArray(headers['x-death']) ? [...(headers['x-death'] as Death[])] : [];
  const i = deaths.findIndex((d) => text(d.queue) === queue.name && text(d.reason) === reason);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  let entry: Death;
  if (i >= 0) {
    const old = deaths.splice(i, 1)[0]!;
    entry = { ...old, count: Number(old.count ?? 1) + 1, time: now };
  } else {
    entry = {
      count: 1,
      reason,
      queue: queue.name,
      time: now,
      exchange: source.exchange,
      'routing-keys': [source.routingKey, ...cc],
    };
    if (p.expiration !== undefined) entry['original-expiration'] = p.expiration;
  }
  deaths.unshift(entry);
  headers['x-death'] = deaths;
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-queue'] = queue.name;
    headers['x-first-death-exchange'] = source.exchange;
  }
  // As RabbitMQ: the per-message TTL does not follow the message into the dead-letter queue.
  const { expiration: _dropped, ...rest } = p;
  return { ...rest, headers };
}

/**
 * RabbitMQ's cycle rule: a message that would come back to a queue it already died in is
 * dropped there, unless a rejection happened somewhere in the cycle (then a client chose it).
 */
function dropCycles(r: Routed, deaths: unknown): void {
  if (!Array.isArray(deaths) || deaths.length === 0) return;
  const list = deaths as Death[];
  if (list.some((d) => text(d.reason) === 'rejected')) return;
  const died = new Set(list.map((d) => text(d.queue)));
  const keep = r.queues.filter((q) => !died.has(q.name));
  r.queues.length = 0;
  r.queues.push(...keep);
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString();
  return undefined;
}
