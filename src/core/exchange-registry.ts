import { isDeepStrictEqual } from 'node:util';
import type { ClientConnection } from './connection.js';
import { DedupCache, type DedupPolicy, parseDedupPolicy } from './dedup.js';
import type { ExchangeDefinition } from './definitions.js';
import { DELAYED_TYPE, DelayedMessages } from './delayed.js';
import { checkEquivalent, inequivalent } from './equivalence.js';
import { AccessRefusedError, NotFoundError, PreconditionFailedError } from './errors.js';
import {
  Binding,
  EXCHANGE_TYPES,
  Exchange,
  type ExchangeOptions,
  type ExchangeType,
} from './exchange.js';
import { Queue } from './queue.js';
import { TRACE_EXCHANGE } from './trace.js';
import type { VirtualHost } from './vhost.js';

const BUILTIN_EXCHANGES: [string, ExchangeType][] = [
  ['', 'direct'],
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
  [TRACE_EXCHANGE, 'topic'], // the firehose's: internal, as RabbitMQ's
];

/** queue.bind / exchange.bind and their unbinds: what names the binding, and who asks. */
export type BindingArgs = [
  source: string,
  destination: string,
  destinationType: 'queue' | 'exchange',
  routingKey: string,
  args: Record<string, unknown>,
  connection: ClientConnection | undefined,
];

/**
 * One vhost's exchanges and the bindings out of them: declare, restore, delete, bind, and
 * what a deletion takes with it (auto-delete exchanges, bindings to a deleted queue).
 */
export class ExchangeRegistry {
  private readonly vhost: VirtualHost;
  /** The vhost's map, which its router walks; the built-in exchanges are in it from the start. */
  private readonly exchanges: Map<string, Exchange>;

  constructor(vhost: VirtualHost, exchanges: Map<string, Exchange>) {
    this.vhost = vhost;
    this.exchanges = exchanges;
    for (const [n, type] of BUILTIN_EXCHANGES) {
      exchanges.set(n, new Exchange(n, type, { durable: true, internal: n === TRACE_EXCHANGE }));
    }
  }

  declare(name: string, type: string, options: ExchangeOptions, passive = false): Exchange {
    const existing = this.exchanges.get(name);
    if (passive) {
      if (existing === undefined)
        throw new NotFoundError(`no exchange '${name}' in vhost '${this.vhost.name}'`);
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
        throw inequivalent('type', 'exchange', name, this.vhost.name, type, existing.declaredType);
      checkEquivalent('exchange', name, this.vhost.name, existing, options);
      if ((options.internal ?? false) !== existing.internal)
        throw inequivalent(
          'internal',
          'exchange',
          name,
          this.vhost.name,
          options.internal ?? false,
          existing.internal,
        );
      return existing;
    }
    if (name.startsWith('amq.'))
      throw new AccessRefusedError(
        `exchange name '${name}' contains reserved prefix 'amq.*'; choose another name`,
      );
    const ex = this.create(name, type, options);
    if (ex.durable) this.vhost.definitions.putExchange(ex);
    return ex;
  }

  /** Recreate a durable exchange from its stored definition (a delayed one keeps its store id). */
  restore(d: ExchangeDefinition): Exchange {
    const options = {
      durable: true,
      autoDelete: d.autoDelete,
      internal: d.internal,
      arguments: d.arguments,
      ...(d.dedupScope !== undefined && { dedupScope: d.dedupScope }),
    };
    return this.create(d.name, d.exchangeType, options, d.delayStore, d.delayPageStore);
  }

  private create(
    name: string,
    type: string,
    options: ExchangeOptions,
    delayStore?: number,
    pageStore?: number,
  ): Exchange {
    const restoring = this.vhost.definitions.muted;
    const dedup = this.dedupOf(name, options, restoring);
    // LavinMQ's form: any type with x-delayed-exchange: true delays like x-delayed-message.
    const byArgument = options.arguments?.['x-delayed-exchange'];
    if (byArgument !== undefined && typeof byArgument !== 'boolean')
      throw new PreconditionFailedError(
        `invalid arg 'x-delayed-exchange' for exchange '${name}' in vhost '${this.vhost.name}': must be a boolean`,
      );
    const delayed = type === DELAYED_TYPE || byArgument === true;
    const ex = new Exchange(
      name,
      type === DELAYED_TYPE
        ? delayedType(name, this.vhost.name, options.arguments)
        : (type as ExchangeType),
      options,
    );
    ex.delayedByArgument = delayed && type !== DELAYED_TYPE;
    if (delayed) {
      // Its pending messages are journaled under a store id of their own, like a queue's.
      const id = delayStore ?? (ex.durable ? this.vhost.broker.allocateQueueId() : 0);
      // Transient ones page out under another (an older definition has none: held in memory).
      const pageId =
        pageStore ?? (ex.durable && !restoring ? this.vhost.broker.allocateQueueId() : 0);
      ex.delayed = new DelayedMessages(this.vhost, ex, id, pageId);
      if (delayStore === undefined) ex.delayed.start();
    }
    if (dedup !== undefined) {
      const scope = options.dedupScope ?? (restoring ? 0 : this.vhost.broker.allocateQueueId());
      if (scope === 0)
        // Declared by a Baton that ignored these arguments: no scope was kept for its ids, and
        // none can be written during recovery, so they stay in memory until it is redeclared.
        this.vhost.broker.reportError(
          new Error(`exchange '${name}' has no journaled deduplication scope`),
          'its deduplication ids are kept in memory only',
        );
      ex.dedup = new DedupCache(scope, dedup, ex.durable && scope !== 0, this.vhost.broker.journal);
    }
    this.exchanges.set(name, ex);
    return ex;
  }

  private dedupOf(
    name: string,
    options: ExchangeOptions,
    restoring: boolean,
  ): DedupPolicy | undefined {
    const where = { kind: 'exchange' as const, name, vhost: this.vhost.name };
    try {
      return parseDedupPolicy(options.arguments ?? {}, where);
    } catch (err) {
      if (!restoring) throw err;
      // Declared by an older Baton that did not check exchange arguments: keep the exchange.
      this.vhost.broker.reportError(err, `exchange '${name}': deduplication arguments ignored`);
      return undefined;
    }
  }

  get(name: string): Exchange {
    const ex = this.exchanges.get(name);
    if (ex === undefined)
      throw new NotFoundError(`no exchange '${name}' in vhost '${this.vhost.name}'`);
    return ex;
  }

  delete(name: string, ifUnused: boolean): void {
    if (name === '' || name.startsWith('amq.'))
      throw new AccessRefusedError(
        `exchange '${name || '(AMQP default)'}' is built in and cannot be deleted`,
      );
    const ex = this.exchanges.get(name);
    if (ex === undefined) return; // As RabbitMQ: deleting a missing exchange succeeds.
    if (ifUnused && ex.bindings.length > 0)
      throw new PreconditionFailedError(`exchange '${name}' in vhost '${this.vhost.name}' in use`);
    this.deleteNow(ex);
  }

  /**
   * The vhost is being deleted (its queues are gone already): every exchange and binding goes,
   * each removal journaled as a client's would be.
   */
  destroy(): void {
    for (const ex of [...this.exchanges.values()]) {
      if (this.exchanges.get(ex.name) !== ex) continue; // auto-deleted meanwhile
      if (!BUILTIN_EXCHANGES.some(([n]) => n === ex.name)) this.deleteNow(ex);
      // Bindings between built-in exchanges are journaled too.
      else for (const b of [...ex.bindings]) this.removeBinding(b, false);
    }
  }

  /** `dest` is being deleted: every binding to it goes (auto-delete sources with them). */
  unbindAll(dest: Queue | Exchange): void {
    for (const ex of [...this.exchanges.values()]) {
      for (const b of [...ex.bindings]) if (b.destination === dest) this.removeBinding(b);
    }
  }

  private deleteNow(ex: Exchange): void {
    this.exchanges.delete(ex.name);
    ex.delayed?.destroy();
    ex.dedup?.drop();
    for (const b of [...ex.bindings]) this.removeBinding(b, false);
    this.unbindAll(ex);
    if (ex.durable) this.vhost.definitions.deleteExchange(ex);
  }

  bind(...[source, destination, destinationType, routingKey, args, connection]: BindingArgs): void {
    const { ex, dest } = this.bindingEnds(source, destination, destinationType, connection);
    if (ex.findBinding(dest, routingKey, args, isDeepStrictEqual) !== undefined) return;
    const b = new Binding(ex, dest, routingKey, args);
    ex.addBinding(b);
    if (ex.durable && dest.durable && !(dest instanceof Queue && dest.exclusive))
      this.vhost.definitions.putBinding(b);
  }

  unbind(
    ...[source, destination, destinationType, routingKey, args, connection]: BindingArgs
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
        ? this.vhost.getQueue(destination, connection)
        : this.get(destination);
    return { ex: this.get(source), dest };
  }

  private removeBinding(b: Binding, autoDeleteSource = true): void {
    b.source.removeBinding(b);
    this.vhost.definitions.deleteBinding(b);
    const src = b.source;
    if (
      autoDeleteSource &&
      src.autoDelete &&
      src.bindings.length === 0 &&
      this.exchanges.get(src.name) === src
    )
      this.deleteNow(src);
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
