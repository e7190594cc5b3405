import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Broker } from './broker.js';
import type { ClientConnection } from './connection.js';
import {
  AccessRefusedError,
  NotFoundError,
  PreconditionFailedError,
  ResourceLockedError,
} from './errors.js';
import {
  Binding,
  EXCHANGE_TYPES,
  Exchange,
  type ExchangeOptions,
  type ExchangeType,
} from './exchange.js';
import type { Message } from './message.js';
import type { SenderKeys } from './properties.js';
import { Queue, type QueueOptions } from './queue.js';
import { parseQueuePolicy } from './queue-policy.js';
import { Definitions, type ExchangeDefinition, type QueueDefinition } from './definitions.js';
import { Router, type Routed } from './routing.js';
import { DeadLetters } from './dead-letter.js';
import { DELAYED_TYPE, DelayedMessages, delayOf } from './delayed.js';
import { applyRouted } from './apply.js';
import { DirectReplies } from './direct-reply.js';
import {
  claimIds,
  DedupCache,
  type DedupClaim,
  type DedupPolicy,
  parseDedupPolicy,
} from './dedup.js';
import type { StoreOp } from '../store/store.js';
import { TRACE_EXCHANGE, Tracer } from './trace.js';
import { VhostStats } from './stats.js';
import { underLimit, type VhostLimits } from './access/limits.js';

/** A server-named queue's name, as RabbitMQ makes them. */
export function serverQueueName(): string {
  return `amq.gen-${randomBytes(16).toString('base64url')}`;
}

const BUILTIN_EXCHANGES: [string, ExchangeType][] = [
  ['', 'direct'],
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
  [TRACE_EXCHANGE, 'topic'], // the firehose's: internal, as RabbitMQ's
];

/** A namespace of queues and exchanges, and the routing walk between them. */
export class VirtualHost {
  readonly name: string;
  readonly broker: Broker;
  readonly queues = new Map<string, Queue>();
  readonly exchanges = new Map<string, Exchange>();
  readonly definitions: Definitions;
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
    for (const [n, type] of BUILTIN_EXCHANGES) {
      this.exchanges.set(
        n,
        new Exchange(n, type, { durable: true, internal: n === TRACE_EXCHANGE }),
      );
    }
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
      this.checkEquivalent('queue', name, existing, options);
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

  private checkEquivalent(
    kind: 'queue' | 'exchange',
    name: string,
    current: { durable: boolean; autoDelete: boolean; arguments: Record<string, unknown> } & {
      exclusive?: boolean;
    },
    wanted: {
      durable?: boolean;
      autoDelete?: boolean;
      exclusive?: boolean;
      arguments?: Record<string, unknown>;
    },
  ): void {
    const fields: ['durable' | 'autoDelete' | 'exclusive', string][] = [
      ['durable', 'durable'],
      ['autoDelete', 'auto_delete'],
    ];
    if (kind === 'queue') fields.push(['exclusive', 'exclusive']);
    for (const [field, wire] of fields) {
      const have = current[field] ?? false;
      const want = wanted[field] ?? false;
      if (have !== want) throw inequivalent(wire, kind, name, this.name, want, have);
    }
    const a = xArgs(current.arguments);
    const b = xArgs(wanted.arguments ?? {});
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!isDeepStrictEqual(a[key], b[key]))
        throw inequivalent(key, kind, name, this.name, b[key], a[key]);
    }
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
    for (const ex of this.exchanges.values()) {
      for (const b of [...ex.bindings]) if (b.destination === q) this.removeBinding(b);
    }
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

  // ---- exchanges ----------------------------------------------------------------------

  declareExchange(name: string, type: string, options: ExchangeOptions, passive = false): Exchange {
    const existing = this.exchanges.get(name);
    if (passive) {
      if (existing === undefined)
        throw new NotFoundError(`no exchange '${name}' in vhost '${this.name}'`);
      return existing;
    }
    if (name === '')
      throw new AccessRefusedError(
        `operation not permitted on the default exchange; it always exists`,
      );
    // A channel error, as RabbitMQ since 3.12.x (rabbitmq-server#11214); it closed the whole
    // connection (503) before.
    if (type !== DELAYED_TYPE && !(EXCHANGE_TYPES as readonly string[]).includes(type))
      throw new PreconditionFailedError(
        `unknown exchange type '${type}'; Baton supports ${EXCHANGE_TYPES.join(', ')}, ${DELAYED_TYPE}`,
      );
    if (existing !== undefined) {
      if (existing.declaredType !== type)
        throw inequivalent('type', 'exchange', name, this.name, type, existing.declaredType);
      this.checkEquivalent('exchange', name, existing, options);
      if ((options.internal ?? false) !== existing.internal)
        throw inequivalent(
          'internal',
          'exchange',
          name,
          this.name,
          options.internal ?? false,
          existing.internal,
        );
      return existing;
    }
    if (name.startsWith('amq.'))
      throw new AccessRefusedError(
        `exchange name '${name}' contains reserved prefix 'amq.*'; choose another name`,
      );
    const ex = this.createExchange(name, type, options);
    if (ex.durable) this.definitions.putExchange(ex);
    return ex;
  }

  /** Recreate a durable exchange from its stored definition (a delayed one keeps its store id). */
  restoreExchange(d: ExchangeDefinition): Exchange {
    const options = {
      durable: true,
      autoDelete: d.autoDelete,
      internal: d.internal,
      arguments: d.arguments,
      ...(d.dedupScope !== undefined && { dedupScope: d.dedupScope }),
    };
    return this.createExchange(d.name, d.exchangeType, options, d.delayStore, d.delayPageStore);
  }

  private createExchange(
    name: string,
    type: string,
    options: ExchangeOptions,
    delayStore?: number,
    pageStore?: number,
  ): Exchange {
    const restoring = this.definitions.muted;
    const dedup = this.exchangeDedup(name, options, restoring);
    // LavinMQ's form: any type with x-delayed-exchange: true delays like x-delayed-message.
    const byArgument = options.arguments?.['x-delayed-exchange'];
    if (byArgument !== undefined && typeof byArgument !== 'boolean')
      throw new PreconditionFailedError(
        `invalid arg 'x-delayed-exchange' for exchange '${name}' in vhost '${this.name}': must be a boolean`,
      );
    const delayed = type === DELAYED_TYPE || byArgument === true;
    const ex = new Exchange(
      name,
      type === DELAYED_TYPE
        ? delayedType(name, this.name, options.arguments)
        : (type as ExchangeType),
      options,
    );
    ex.delayedByArgument = delayed && type !== DELAYED_TYPE;
    if (delayed) {
      // Its pending messages are journaled under a store id of their own, like a queue's.
      const id = delayStore ?? (ex.durable ? this.broker.allocateQueueId() : 0);
      // Transient ones page out under another (an older definition has none: held in memory).
      const pageId = pageStore ?? (ex.durable && !restoring ? this.broker.allocateQueueId() : 0);
      ex.delayed = new DelayedMessages(this, ex, id, pageId);
      if (delayStore === undefined) ex.delayed.start();
    }
    if (dedup !== undefined) {
      const scope = options.dedupScope ?? (restoring ? 0 : this.broker.allocateQueueId());
      if (scope === 0)
        // Declared by a Baton that ignored these arguments: no scope was kept for its ids, and
        // none can be written during recovery, so they stay in memory until it is redeclared.
        this.broker.reportError(
          new Error(`exchange '${name}' has no journaled deduplication scope`),
          'its deduplication ids are kept in memory only',
        );
      ex.dedup = new DedupCache(scope, dedup, ex.durable && scope !== 0, this.broker.journal);
    }
    this.exchanges.set(name, ex);
    return ex;
  }

  private exchangeDedup(
    name: string,
    options: ExchangeOptions,
    restoring: boolean,
  ): DedupPolicy | undefined {
    const where = { kind: 'exchange' as const, name, vhost: this.name };
    try {
      return parseDedupPolicy(options.arguments ?? {}, where);
    } catch (err) {
      if (!restoring) throw err;
      // Declared by an older Baton that did not check exchange arguments: keep the exchange.
      this.broker.reportError(err, `exchange '${name}': deduplication arguments ignored`);
      return undefined;
    }
  }

  getExchange(name: string): Exchange {
    const ex = this.exchanges.get(name);
    if (ex === undefined) throw new NotFoundError(`no exchange '${name}' in vhost '${this.name}'`);
    return ex;
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '' || name.startsWith('amq.'))
      throw new AccessRefusedError(
        `exchange '${name || '(AMQP default)'}' is built in and cannot be deleted`,
      );
    const ex = this.exchanges.get(name);
    if (ex === undefined) return; // As RabbitMQ: deleting a missing exchange succeeds.
    if (ifUnused && ex.bindings.length > 0)
      throw new PreconditionFailedError(`exchange '${name}' in vhost '${this.name}' in use`);
    this.deleteExchangeNow(ex);
  }

  /**
   * The vhost is being deleted (its connections are closed already): every queue with its
   * messages, every exchange and binding goes, each removal journaled as a client's would be.
   */
  destroy(): void {
    this.deleted = true;
    this.tracing = false;
    for (const q of [...this.queues.values()]) this.deleteQueueNow(q);
    for (const ex of [...this.exchanges.values()]) {
      if (this.exchanges.get(ex.name) !== ex) continue; // auto-deleted meanwhile
      if (!BUILTIN_EXCHANGES.some(([n]) => n === ex.name)) this.deleteExchangeNow(ex);
      // Bindings between built-in exchanges are journaled too.
      else for (const b of [...ex.bindings]) this.removeBinding(b, false);
    }
    this.definitions.deleteVhost();
  }

  private deleteExchangeNow(ex: Exchange): void {
    this.exchanges.delete(ex.name);
    ex.delayed?.destroy();
    ex.dedup?.drop();
    for (const b of [...ex.bindings]) this.removeBinding(b, false);
    for (const other of this.exchanges.values()) {
      for (const b of [...other.bindings]) if (b.destination === ex) this.removeBinding(b);
    }
    if (ex.durable) this.definitions.deleteExchange(ex);
  }

  // ---- bindings -----------------------------------------------------------------------

  bind(
    source: string,
    destination: string,
    destinationType: 'queue' | 'exchange',
    routingKey: string,
    args: Record<string, unknown>,
    connection: ClientConnection | undefined,
  ): void {
    const { ex, dest } = this.bindingEnds(source, destination, destinationType, connection);
    if (ex.findBinding(dest, routingKey, args, isDeepStrictEqual) !== undefined) return;
    const b = new Binding(ex, dest, routingKey, args);
    ex.addBinding(b);
    if (ex.durable && dest.durable && !(dest instanceof Queue && dest.exclusive))
      this.definitions.putBinding(b);
  }

  unbind(
    source: string,
    destination: string,
    destinationType: 'queue' | 'exchange',
    routingKey: string,
    args: Record<string, unknown>,
    connection: ClientConnection | undefined,
  ): void {
    const { ex, dest } = this.bindingEnds(source, destination, destinationType, connection);
    const b = ex.findBinding(dest, routingKey, args, isDeepStrictEqual);
    if (b !== undefined) this.removeBinding(b);
  }

  private bindingEnds(
    source: string,
    destination: string,
    destinationType: 'queue' | 'exchange',
    connection: ClientConnection | undefined,
  ): { ex: Exchange; dest: Queue | Exchange } {
    if (source === '')
      throw new AccessRefusedError(
        `operation not permitted on the default exchange; every queue is already bound to it by name`,
      );
    const dest =
      destinationType === 'queue'
        ? this.getQueue(destination, connection)
        : this.getExchange(destination);
    return { ex: this.getExchange(source), dest };
  }

  private removeBinding(b: Binding, autoDeleteSource = true): void {
    b.source.removeBinding(b);
    this.definitions.deleteBinding(b);
    const src = b.source;
    if (
      autoDeleteSource &&
      src.autoDelete &&
      src.bindings.length === 0 &&
      this.exchanges.get(src.name) === src
    )
      this.deleteExchangeNow(src);
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

/**
 * The routing type of an x-delayed-message exchange: its x-delayed-type argument, one of the
 * built-in types (406 when missing or not a string, as the plugin; 503 for an unknown type,
 * as RabbitMQ's check of an exchange type).
 */
function delayedType(
  name: string,
  vhost: string,
  args: Record<string, unknown> | undefined,
): ExchangeType {
  let t = args?.['x-delayed-type'];
  if (Buffer.isBuffer(t)) t = t.toString();
  if (typeof t !== 'string')
    throw new PreconditionFailedError(
      `exchange '${name}' in vhost '${vhost}' of type '${DELAYED_TYPE}' needs the argument 'x-delayed-type': the type that routes its messages when due (${EXCHANGE_TYPES.join(', ')})`,
    );
  if (t === DELAYED_TYPE)
    throw new PreconditionFailedError(
      `invalid 'x-delayed-type' of exchange '${name}' in vhost '${vhost}': it cannot be '${DELAYED_TYPE}' itself`,
    );
  if (!(EXCHANGE_TYPES as readonly string[]).includes(t))
    throw new PreconditionFailedError(
      `unknown exchange type '${t}' in 'x-delayed-type' of exchange '${name}' in vhost '${vhost}'; it must be one of ${EXCHANGE_TYPES.join(', ')}`,
    );
  return t as ExchangeType;
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

function xArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(args)) if (k.startsWith('x-')) out[k] = args[k];
  return out;
}

function show(v: unknown): string {
  if (v === undefined) return 'none';
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function inequivalent(
  arg: string,
  kind: string,
  name: string,
  vhost: string,
  received: unknown,
  current: unknown,
): PreconditionFailedError {
  return new PreconditionFailedError(
    `inequivalent arg '${arg}' for ${kind} '${name}' in vhost '${vhost}': received '${show(received)}' but current is '${show(current)}'`,
  );
}
