import { randomBytes } from 'node:crypto';
import type { Broker } from './broker.js';
import type { ClientConnection } from './connection.js';
import {
  AccessRefusedError,
  NotFoundError,
  PreconditionFailedError,
  ResourceLockedError,
} from './errors.js';
import type { Exchange, ExchangeOptions } from './exchange.js';
import type { Message } from './message.js';
import type { SenderKeys } from './properties.js';
import { Queue, type QueueOptions } from './queue.js';
import { parseQueuePolicy } from './queue-policy.js';
import { Definitions, type ExchangeDefinition, type QueueDefinition } from './definitions.js';
import { checkEquivalent } from './equivalence.js';
import { ExchangeRegistry, type BindingArgs } from './exchange-registry.js';
import { Router, type Routed } from './routing.js';
import { DeadLetters } from './dead-letter.js';
import { delayOf } from './delayed.js';
import { applyRouted } from './apply.js';
import { DirectReplies } from './direct-reply.js';
import { claimIds, DedupCache, type DedupClaim } from './dedup.js';
import type { StoreOp } from '../store/store.js';
import { Tracer } from './trace.js';
import { VhostStats } from './stats.js';
import { underLimit, type VhostLimits } from './access/limits.js';

/** A server-named queue's name, as RabbitMQ makes them. */
export function serverQueueName(): string {
  return `amq.gen-${randomBytes(16).toString('base64url')}`;
}

/** A namespace of queues and exchanges, and the routing walk between them. */
export class VirtualHost {
  readonly name: string;
  readonly broker: Broker;
  readonly queues = new Map<string, Queue>();
  readonly exchanges = new Map<string, Exchange>();
  readonly definitions: Definitions;
  private readonly exchangeRegistry: ExchangeRegistry;
  private readonly router: Router;
  private readonly deadLetters = new DeadLetters(this);
  /** Direct reply-to endpoints (amq.rabbitmq.reply-to.…): routed to, never listed. */
  readonly replies = new DirectReplies(this);
  /** Queues with x-message-deduplication: apply checks ids only while there are some. */
  private dedupQueues = 0;
  /** Firehose and message-life log (src/core/trace.ts); off until switched on. */
  readonly tracer = new Tracer(this);
  /** Message, connection and queue counters (management message_stats, Prometheus). */
  readonly stats = new VhostStats();
  /** What an operator said about it (RabbitMQ's vhost metadata). */
  description = '';
  tags: readonly string[] = [];
  /** RabbitMQ's vhost limits: max-connections, max-queues. */
  limits: VhostLimits = {};
  /** Deleted at runtime: every door refuses it from then on. */
  deleted = false;

  constructor(broker: Broker, name: string) {
    this.broker = broker;
    this.name = name;
    this.definitions = new Definitions(broker.journal, name);
    this.router = new Router(this.exchanges, broker.headersOf, (m) =>
      delayOf(broker.properties.header(m, 'x-delay')),
    );
    this.exchangeRegistry = new ExchangeRegistry(this, this.exchanges);
  }

  /** Tracing on (RabbitMQ's trace_on): not kept across a restart, as RabbitMQ's. */
  get tracing(): boolean {
    return this.tracer.on;
  }

  set tracing(on: boolean) {
    this.tracer.set(on);
  }

  // ---- queues -------------------------------------------------------------------------

  /**
   * queue.declare. An empty name gets a server-generated `amq.gen-…` name (`serverName`, when
   * the door already chose it to check permissions on it).
   */
  declareQueue(
    name: string,
    options: QueueOptions,
    connection: ClientConnection | undefined,
    passive = false,
    serverName?: string,
  ): Queue {
    const existing = name === '' ? undefined : this.queues.get(name);
    if (passive) {
      if (existing === undefined)
        throw new NotFoundError(`no queue '${name}' in vhost '${this.name}'`);
      this.checkExclusive(existing, connection);
      // A passive declare is a use too (x-expires), as in RabbitMQ.
      existing.touch();
      return existing;
    }
    if (existing !== undefined) {
      this.checkExclusive(existing, connection);
      checkEquivalent('queue', name, this.name, existing, options);
      existing.touch();
      this.stats.queuesDeclared++;
      return existing;
    }
    if (name.startsWith('amq.'))
      throw new AccessRefusedError(
        `queue name '${name}' contains reserved prefix 'amq.*'; choose another name or leave it empty for a server-named queue`,
      );
    if (name === '') name = serverName ?? serverQueueName();
    const max = this.limits['max-queues'];
    if (!underLimit(max, this.queues.size))
      throw new PreconditionFailedError(
        `cannot declare queue '${name}': queue limit in vhost '${this.name}' (${max}) is reached`,
      );
    const owner = options.exclusive ? connection : undefined;
    const policy = parseQueuePolicy(options.arguments ?? {}, { queue: name, vhost: this.name });
    if (policy.queueType === 'quorum') checkQuorum(name, this.name, options);
    const queue = new Queue(
      this.broker.queueContext,
      this.name,
      this.broker.allocateQueueId(),
      name,
      options,
      owner,
      this.stats,
      policy,
    );
    this.adopt(queue);
    this.stats.queuesDeclared++;
    this.stats.queuesCreated++;
    if (owner !== undefined) owner.exclusiveQueues.add(queue);
    if (queue.durable && !queue.exclusive) this.definitions.putQueue(queue);
    return queue;
  }

  /** Recreate a durable queue from its stored definition, keeping its id. */
  restoreQueue(d: QueueDefinition): Queue {
    const options = { durable: true, autoDelete: d.autoDelete, arguments: d.arguments };
    let policy;
    try {
      policy = parseQueuePolicy(d.arguments, { queue: d.name, vhost: this.name });
    } catch (err) {
      // Declared by an older Baton that checked less: keep the queue and its messages.
      this.broker.reportError(err, `queue '${d.name}': arguments ignored at recovery`);
      policy = parseQueuePolicy({}, { queue: d.name, vhost: this.name });
    }
    const q = new Queue(
      this.broker.queueContext,
      this.name,
      d.id,
      d.name,
      options,
      undefined,
      this.stats,
      policy,
    );
    this.adopt(q);
    return q;
  }

  private adopt(q: Queue): void {
    this.queues.set(q.name, q);
    q.tracer = this.tracer;
    if (q.policy.deadLetterExchange !== undefined) q.removalHook = this.deadLetters.hook;
    if (q.policy.dedup !== undefined) {
      // Ids are journaled where the queue's definition is: durable, not exclusive.
      q.dedup = new DedupCache(
        q.id,
        q.policy.dedup,
        q.durable && !q.exclusive,
        this.broker.journal,
      );
      this.dedupQueues++;
    }
    if (q.policy.expires !== undefined) {
      // x-expires: deleted once unused that long (as RabbitMQ, counted again after a restart).
      q.onUnused = (unused) => {
        if (this.queues.get(unused.name) === unused) this.deleteQueueNow(unused);
      };
      q.touch();
    }
  }

  /** Look a queue up for use by `connection`, enforcing exclusivity. */
  getQueue(name: string, connection: ClientConnection | undefined): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw new NotFoundError(`no queue '${name}' in vhost '${this.name}'`);
    this.checkExclusive(q, connection);
    return q;
  }

  private checkExclusive(q: Queue, connection: ClientConnection | undefined): void {
    if (q.owner !== undefined && q.owner !== connection)
      throw new ResourceLockedError(
        `cannot obtain exclusive access to locked queue '${q.name}' in vhost '${this.name}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
      );
  }

  deleteQueue(
    name: string,
    options: { ifUnused?: boolean; ifEmpty?: boolean },
    connection: ClientConnection | undefined,
  ): number {
    const q = this.queues.get(name);
    if (q === undefined) return 0; // RabbitMQ: deleting a missing queue is not an error.
    this.checkExclusive(q, connection);
    if (options.ifUnused && q.consumerCount > 0)
      throw new PreconditionFailedError(`queue '${name}' in vhost '${this.name}' in use`);
    if (options.ifEmpty && q.messageCount > 0)
      throw new PreconditionFailedError(`queue '${name}' in vhost '${this.name}' is not empty`);
    return this.deleteQueueNow(q);
  }

  /** Delete without checks: cancels consumers (notifying them), drops bindings and messages. */
  deleteQueueNow(q: Queue): number {
    if (q.deleted) return 0;
    this.queues.delete(q.name);
    this.stats.queuesDeleted++;
    q.owner?.exclusiveQueues.delete(q);
    for (const c of [...q.consumers]) {
      q.removeConsumer(c);
      c.session.cancelledByBroker(c);
    }
    this.exchangeRegistry.unbindAll(q);
    const n = q.destroy();
    if (q.dedup !== undefined) {
      q.dedup.drop();
      this.dedupQueues--;
    }
    if (q.durable && !q.exclusive) this.definitions.deleteQueue(q);
    return n;
  }

  purgeQueue(name: string, connection: ClientConnection | undefined): number {
    return this.getQueue(name, connection).purge();
  }

  // ---- exchanges and bindings (exchange-registry.ts) -----------------------------------

  declareExchange(name: string, type: string, options: ExchangeOptions, passive = false): Exchange {
    return this.exchangeRegistry.declare(name, type, options, passive);
  }

  /** Recreate a durable exchange from its stored definition (a delayed one keeps its store id). */
  restoreExchange(d: ExchangeDefinition): Exchange {
    return this.exchangeRegistry.restore(d);
  }

  getExchange(name: string): Exchange {
    return this.exchangeRegistry.get(name);
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    this.exchangeRegistry.delete(name, ifUnused);
  }

  bind(...binding: BindingArgs): void {
    this.exchangeRegistry.bind(...binding);
  }

  unbind(...binding: BindingArgs): void {
    this.exchangeRegistry.unbind(...binding);
  }

  /**
   * The vhost is being deleted (its connections are closed already): every queue with its
   * messages, every exchange and binding goes, each removal journaled as a client's would be.
   */
  destroy(): void {
    this.deleted = true;
    this.tracing = false;
    for (const q of [...this.queues.values()]) this.deleteQueueNow(q);
    this.exchangeRegistry.destroy();
    this.definitions.deleteVhost();
  }

  // ---- publish ------------------------------------------------------------------------

  /**
   * Route: fill `into` with the queues the message goes to. Throws only for the client's
   * mistakes (no such exchange, an internal one); nothing is enqueued yet.
   */
  route(
    exchangeName: string,
    routingKey: string,
    message: Message,
    into: Routed,
    byBroker = false,
  ): void {
    const ex = this.exchanges.get(exchangeName);
    if (ex === undefined)
      throw new NotFoundError(`no exchange '${exchangeName}' in vhost '${this.name}'`);
    // The broker itself (dead-lettering) may route through internal exchanges.
    if (ex.internal && !byBroker)
      throw new AccessRefusedError(
        `cannot publish to internal exchange '${exchangeName}' in vhost '${this.name}'`,
      );
    into.reset(exchangeName, routingKey, message);
    // Broker moves (dead-lettering) are no producer's retry: only publishes are checked.
    into.checkDedup = !byBroker;
    into.dedupExchange = ex.dedup;
    if (exchangeName === '') {
      const q = this.queues.get(routingKey) ?? this.replies.get(routingKey);
      if (q !== undefined) into.queues.push(q);
    } else this.router.route(ex, into);
    const extra = this.broker.properties.senderKeys(message);
    if (extra !== undefined) this.routeSenderKeys(ex, into, extra);
  }

  /**
   * RabbitMQ's sender-selected distribution: the CC and BCC headers are more routing keys
   * (each queue still gets one copy), and BCC is removed from what is delivered.
   */
  private routeSenderKeys(ex: Exchange, into: Routed, keys: SenderKeys): void {
    const routingKey = into.routingKey;
    for (const key of [...keys.cc, ...keys.bcc]) {
      if (ex.name === '') {
        const q = this.queues.get(key) ?? this.replies.get(key);
        if (q !== undefined) into.queues.push(q);
        continue;
      }
      into.routingKey = key;
      this.router.route(ex, into);
    }
    into.routingKey = routingKey;
    const unique = [...new Set(into.queues)];
    into.queues.length = 0;
    into.queues.push(...unique);
    if (keys.bcc.length !== 0)
      into.message = this.broker.properties.withProperties(into.message!, (p) => {
        const { BCC: _hidden, ...headers } = p.headers ?? {};
        return { ...p, headers };
      });
  }

  /**
   * Apply a routed publish: journal it (one record for every durable queue it reached, if
   * persistent) and put it on its queues. The outcome is left in `r`; a store that refuses the
   * write leaves `r.failed` set and the message on no queue. Whether it is durable the caller
   * learns through `broker.afterSync`.
   */
  apply(r: Routed, first?: StoreOp): void {
    applyRouted(this, r, first);
  }

  /**
   * Deduplication for a routed client publish, at apply time (a transaction: at commit, per
   * publish, in order): takes duplicates off `r.queues` (setting `r.duplicate`) and returns the
   * ids it takes, held at once. Put `claim.ops(journaled, ops)` in the commit of its enqueue
   * and call `claim.abort()` if the store refuses that commit. Undefined: nothing to record.
   */
  claimDedup(r: Routed): DedupClaim | undefined {
    return r.checkDedup && (r.dedupExchange !== undefined || this.dedupQueues !== 0)
      ? claimIds(r, this.broker.properties, Date.now())
      : undefined;
  }

  /** Route and apply in one step; returns the number of queues. */
  publish(exchangeName: string, routingKey: string, message: Message, into: Routed): number {
    this.route(exchangeName, routingKey, message, into);
    this.apply(into);
    return into.queues.length;
  }
}

/** Quorum queues are durable, never exclusive or auto-delete (RabbitMQ's rules and texts). */
function checkQuorum(name: string, vhost: string, options: QueueOptions): void {
  const bad =
    options.durable !== true
      ? 'non-durable'
      : options.exclusive === true
        ? 'exclusive-queue'
        : options.autoDelete === true
          ? 'auto-delete'
          : undefined;
  if (bad !== undefined)
    throw new PreconditionFailedError(
      `invalid property '${bad}' for queue '${name}' in vhost '${vhost}'`,
    );
}
