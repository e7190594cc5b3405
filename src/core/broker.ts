import type { Spill } from '../store/spill.js';
import type {
  MessageLocation,
  RecoveredMessage,
  RecoveryStats,
  Store,
  StoreHealth,
} from '../store/store.js';
import { ClientConnection, type ConnectionInfo } from './connection.js';
import { bindingKey, type Definition } from './definitions.js';
import { Alarms } from './alarms.js';
import { BodyBudget } from './body-budget.js';
import { DedupRestore } from './dedup.js';
import { DrainScheduler } from './dispatch.js';
import { NotAllowedError, PreconditionFailedError, StoreFailedError } from './errors.js';
import { Message } from './message.js';
import { Properties, type PropertiesCodec } from './properties.js';
import type { Queue } from './queue.js';
import type { QueueContext } from './queue-context.js';
import { ResourceMonitor } from './resource-monitor.js';
import { StoreGuard } from './store-guard.js';
import { VirtualHost } from './vhost.js';
import { VhostStats } from './stats.js';
import { AccessControl, type DefaultUser } from './access/access-control.js';
import { Access } from './access/permissions.js';
import { underLimit, type VhostLimits } from './access/limits.js';
import type { Users } from './access/users.js';
import { LoginThrottle, type LoginThrottleSettings } from './access/login-throttle.js';
import { DEFAULT_BODY_BUDGET } from '../util/body-budget.js';
import type { DelayedMessages } from './delayed.js';

export interface BrokerOptions {
  /** The message store (server.ts builds it: store/open-stores.ts). */
  store: Store;
  /** Where messages the store cannot page go past the body budget. */
  spill: Spill;
  /**
   * The byte form of message properties (server.ts passes the AMQP 0-9-1 one): what messages
   * carry, the store keeps and every protocol reads and writes through.
   */
  codec: PropertiesCodec;
  /**
   * Bytes of message bodies kept in memory. Past it, persistent messages on durable queues
   * are paged out (kept only as journal positions) and the rest spilled; read back on delivery.
   */
  bodyBudget?: number;
  /** Memory alarm: fraction of RAM (<= 1) or bytes (> 1); 0 disables. Default: no alarm. */
  memoryHighWatermark?: number;
  /** Disk alarm: bytes that must stay free on `diskPath`'s filesystem; 0 (default) disables. */
  diskFreeLimit?: number;
  /** The filesystem the disk alarm watches (the data dir). */
  diskPath?: string;
  /**
   * How long a delivery may stay unacknowledged before its channel is closed (406, as
   * RabbitMQ's consumer_timeout), for queues without x-consumer-timeout; 0 disables.
   * Default 30 minutes, as RabbitMQ.
   */
  consumerTimeout?: number;
  /**
   * The user the first boot creates (administrator, full permissions on '/'): guest/guest by
   * default, as RabbitMQ; `null` creates none (definitions loaded at boot name the users).
   * Ignored once the store holds users from an earlier boot.
   */
  defaultUser?: DefaultUser | null;
  /** Failed-login throttling per peer address (core/access/login-throttle.ts defaults). */
  loginThrottle?: Partial<LoginThrottleSettings>;
}

/** What an operator says about a vhost (RabbitMQ's vhost metadata). */
export interface VhostMeta {
  description?: string;
  tags?: readonly string[];
  limits?: VhostLimits;
}

export const DEFAULT_USER: DefaultUser = { name: 'guest', password: 'guest' };

/** RabbitMQ's default consumer_timeout: 30 minutes. */
export const DEFAULT_CONSUMER_TIMEOUT = 30 * 60 * 1000;

/**
 * The root of the core: virtual hosts, connections, the store and the drain scheduler.
 * Protocol adapters open connections and sessions on it; nothing here knows a wire format.
 */
export class Broker {
  readonly journal: StoreGuard;
  readonly scheduler = new DrainScheduler((err, context) => this.reportError(err, context));
  /** Memory and disk alarms; publishers are blocked while one is on. */
  readonly alarms = new Alarms();
  readonly vhosts = new Map<string, VirtualHost>();
  readonly connections = new Set<ClientConnection>();
  /** Users and permissions: every protocol door asks here. */
  readonly access: AccessControl;
  /** Failed-login throttling per peer address: every protocol's login goes through it. */
  readonly logins = new LoginThrottle();
  /** This boot created the default user and vhost (false once an earlier boot had). */
  firstBoot = false;
  /** When the broker opened (ms since the epoch), for uptime. */
  readonly startedAt = Date.now();
  recovery: RecoveryStats | undefined;
  /** Bytes of message bodies held in memory by queue entries, against the budget. */
  readonly bodies: BodyBudget;
  /** What every queue is built with. */
  readonly queueContext: QueueContext;
  /** Where messages the store cannot page go past the body budget; gone at restart. */
  readonly spill: Spill;
  monitor: ResourceMonitor | undefined;
  private nextConnectionId = 1;
  private closed = false;
  /** Reads and writes message properties in the broker's canonical encoding. */
  readonly properties: Properties;

  private constructor(
    store: Store,
    spill: Spill,
    bodyBudget: number,
    codec: PropertiesCodec,
    consumerTimeout: number,
  ) {
    this.properties = new Properties(codec);
    this.journal = new StoreGuard(store);
    this.access = new AccessControl(this.journal);
    this.access.vhostExists = (name) => this.vhosts.has(name);
    this.spill = spill;
    spill.onError = (err, context) => this.reportError(err, context);
    this.bodies = new BodyBudget(bodyBudget);
    this.queueContext = {
      store: this.journal,
      scheduler: this.scheduler,
      bodies: this.bodies,
      spill,
      properties: this.properties,
      consumerTimeout,
      stopping: () => this.closed,
      reportError: (err, context) => this.reportError(err, context),
    };
    this.vhosts.set('/', new VirtualHost(this, '/'));
    store.listen({
      stalled: (err) => {
        this.alarms.set('journal', err !== undefined);
        this.onStoreStall(err);
      },
      failed: (err) => this.onStoreFailure(err),
    });
  }

  /**
   * The store waits for disk space (`err`) or writes again (`undefined`). Publishers are
   * blocked meanwhile (the 'journal' alarm). server.ts logs it.
   */
  onStoreStall: (err: Error | undefined) => void = () => {};

  /**
   * The store failed for good (fsync or write error): nothing more is confirmed, and the
   * failed batch is neither confirmed nor nacked, since it may or may not be on disk. The
   * process should restart into recovery; server.ts logs the error and the CLI exits.
   */
  onStoreFailure: (err: Error) => void = () => {};

  static async open(options: BrokerOptions): Promise<Broker> {
    const broker = new Broker(
      options.store,
      options.spill,
      options.bodyBudget ?? DEFAULT_BODY_BUDGET,
      options.codec,
      options.consumerTimeout ?? DEFAULT_CONSUMER_TIMEOUT,
    );
    if ((options.memoryHighWatermark ?? 0) > 0 || (options.diskFreeLimit ?? 0) > 0) {
      broker.monitor = new ResourceMonitor(broker.alarms, {
        memoryHighWatermark: options.memoryHighWatermark ?? 0,
        diskFreeLimit: options.diskFreeLimit ?? 0,
        diskPath: options.diskPath ?? '.',
        onError: (err, context) => broker.reportError(err, context),
      });
      broker.monitor.start();
    }
    if (options.loginThrottle !== undefined) broker.logins.configure(options.loginThrottle);
    await broker.recover();
    broker.seed(options.defaultUser === undefined ? DEFAULT_USER : options.defaultUser);
    return broker;
  }

  /** Who may log in (the user database; changes go through `access`). */
  get users(): Users {
    return this.access.users;
  }

  /**
   * First boot (nothing seeded yet): the default vhost and user, as RabbitMQ creates them
   * once. A store from before users existed holds vhosts but no marker: its vhosts are kept
   * and the default user gets '/'.
   */
  private seed(user: DefaultUser | null): void {
    if (this.access.seeded) {
      // '/' was deleted on an earlier boot: the constructor's stays gone too.
      if (!this.storedVhosts.has('/')) this.vhosts.delete('/');
      return;
    }
    // Users without the marker (it was lost): never recreate guest over them.
    if (this.access.users.size > 0) return this.access.markSeeded();
    this.firstBoot = true;
    for (const v of this.vhosts.values()) v.definitions.putVhost(v);
    this.access.seed(user ?? undefined, '/');
  }

  /** Create a vhost, or update its metadata when it exists. Journaled. */
  putVhost(name: string, meta: VhostMeta = {}): VirtualHost {
    if (name === '') throw new PreconditionFailedError('a vhost name must not be empty');
    let v = this.vhosts.get(name);
    if (v === undefined) this.vhosts.set(name, (v = new VirtualHost(this, name)));
    if (meta.description !== undefined) v.description = meta.description;
    if (meta.tags !== undefined) v.tags = [...meta.tags];
    if (meta.limits !== undefined) v.limits = meta.limits;
    v.definitions.putVhost(v);
    return v;
  }

  /**
   * Delete a vhost: its connections are closed (320, as RabbitMQ), then its queues with their
   * messages, exchanges, bindings and the permissions on it. False when there is none.
   */
  deleteVhost(name: string): boolean {
    const v = this.vhosts.get(name);
    if (v === undefined) return false;
    for (const c of [...this.connections])
      if (c.vhost === v) {
        c.access.revoked = true;
        c.requestClose(`vhost '${name}' is deleted`);
        c.close();
      }
    v.destroy();
    this.vhosts.delete(name);
    this.retired.add(v.stats);
    this.access.dropVhost(name);
    return true;
  }

  /** Delete a user, its permissions, and close its connections (as RabbitMQ). */
  deleteUser(name: string): boolean {
    if (!this.access.deleteUser(name)) return false;
    for (const c of [...this.connections])
      if (c.counted && c.principal.user === name) c.requestClose(`user '${name}' is deleted`);
    return true;
  }

  get store(): Store {
    return this.journal.store;
  }

  readonly headersOf = (m: Message): Readonly<Record<string, unknown>> | undefined =>
    this.properties.headers(m);

  /**
   * Errors the broker survives but an operator must hear about (a damaged record skipped).
   * server.ts routes them to the log.
   */
  onError: (err: unknown, context: string) => void = () => {};

  reportError(err: unknown, context: string): void {
    this.onError(err, context);
  }

  vhost(name = '/'): VirtualHost {
    const v = this.vhosts.get(name);
    if (v === undefined) throw new NotAllowedError(`vhost ${name} not found`);
    return v;
  }

  /** Vhosts recovery found a definition for. */
  private readonly storedVhosts = new Set<string>();

  /** Counters of deleted vhosts, so the broker's totals never go backwards. */
  private readonly retired = new VhostStats();

  /** The broker's counters: the sum over its vhosts (a fresh copy each call). */
  stats(): VhostStats {
    const sum = new VhostStats();
    sum.add(this.retired);
    for (const v of this.vhosts.values()) sum.add(v.stats);
    return sum;
  }

  /** The store's health for operators (metrics, the management API), if it reports one. */
  storeHealth(): StoreHealth | undefined {
    return this.store.health?.();
  }

  /** Queue ids come from the store, so they never repeat across restarts (or, later, nodes). */
  allocateQueueId(): number {
    return this.store.allocateQueueId();
  }

  /**
   * Open a connection as `info.user` on a vhost: the user must have permissions there, and
   * the vhost's and user's connection limits must allow one more (not for the management
   * API's own internal connections). Throws 530 NOT_ALLOWED with RabbitMQ's texts.
   */
  connect(info: ConnectionInfo, vhostName = '/'): ClientConnection {
    if (this.closed) throw new NotAllowedError('broker is shutting down');
    const vhost = this.vhost(vhostName);
    let access: Access;
    if (info.trusted === true) access = new Access(info.user, vhostName, undefined);
    else {
      access = this.access.access(info.user, vhostName);
      if (!access.allowed)
        throw new NotAllowedError(`access to vhost '${vhostName}' refused for user '${info.user}'`);
      if (info.internal !== true) this.checkConnectionLimits(info.user, vhost);
    }
    const c = new ClientConnection(this, this.nextConnectionId++, vhost, info, access);
    this.connections.add(c);
    return c;
  }

  private checkConnectionLimits(user: string, vhost: VirtualHost): void {
    const vmax = vhost.limits['max-connections'];
    const umax = this.access.users.get(user)?.limits['max-connections'];
    if (vmax === undefined && umax === undefined) return;
    let inVhost = 0;
    let ofUser = 0;
    for (const c of this.connections) {
      if (!c.counted) continue;
      if (c.vhost === vhost) inVhost++;
      if (c.principal.user === user) ofUser++;
    }
    if (!underLimit(vmax, inVhost))
      throw new NotAllowedError(
        `access to vhost '${vhost.name}' refused for user '${user}': connection limit (${vmax}) is reached`,
      );
    if (!underLimit(umax, ofUser))
      throw new NotAllowedError(
        `Connection refused for user '${user}': user connection limit (${umax}) is reached`,
      );
  }

  /** Close a client connection from the broker's side (operator, management API). */
  closeConnection(id: number, reason: string): boolean {
    for (const c of this.connections)
      if (c.id === id) {
        c.requestClose(reason);
        return true;
      }
    return false;
  }

  /** Calls `cb` once everything journaled so far is durable (or the store failed). */
  afterSync(cb: (err: Error | undefined) => void): void {
    this.journal.store.afterSync(cb);
  }

  /** The error a publish gets once the store has failed. */
  storeFailure(): StoreFailedError {
    return new StoreFailedError(
      `the message store failed and accepts no more writes: ${this.store.failure?.message ?? 'unknown error'}`,
      this.store.failure,
    );
  }

  /** Close every connection (requeueing in memory), then flush and close the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.monitor?.stop();
    for (const c of [...this.connections]) c.close();
    // Nothing may expire or drop once the store is closing: its settle would not be kept.
    for (const v of this.vhosts.values()) for (const q of v.queues.values()) q.stopTimers();
    for (const v of this.vhosts.values()) for (const ex of v.exchanges.values()) ex.delayed?.stop();
    await this.store.close();
    await this.spill.close();
  }

  private async recover(): Promise<void> {
    const defs: Definition[] = [];
    const byId = new Map<number, Queue>();
    const delays = new Map<number, DelayedMessages>();
    /** Transient delayed messages paged out before the restart: dropped (one purge each). */
    const paged = new Map<number, { location: MessageLocation | undefined }[]>();
    let built = false;
    const dedups = new DedupRestore();
    const build = (): void => {
      if (built) return;
      built = true;
      for (const q of this.rebuild(defs)) byId.set(q.id, q);
      for (const v of this.vhosts.values())
        for (const ex of v.exchanges.values())
          if (ex.delayed !== undefined && ex.delayed.durable) {
            delays.set(ex.delayed.storeId, ex.delayed);
            if (ex.delayed.pageId !== 0) paged.set(ex.delayed.pageId, []);
          }
    };
    this.recovery = await this.store.recover({
      definition: (_key, value) => defs.push(value as Definition),
      message: (r: RecoveredMessage) => {
        build();
        const q = byId.get(r.queueId);
        if (q === undefined) {
          const transient = paged.get(r.queueId);
          if (transient !== undefined) transient.push({ location: r.message.location });
          else delays.get(r.queueId)?.restore(Message.fromStored(r.message), r.seq);
          return;
        }
        q.restore(Message.fromStored(r.message), r.seq, r.redelivered, r.failures);
        if (r.seq >= q.nextSeq) q.nextSeq = r.seq + 1;
      },
      dedup: (scope, id, expiresAt) => dedups.add(scope, id, expiresAt),
    });
    build();
    dedups.apply(this.vhosts.values(), this.journal);
    // Never reuse a seq, even of a queue whose messages are all gone: old records may name it.
    for (const [id, maxSeq] of this.recovery.queueSeqs) {
      const q = byId.get(id);
      if (q !== undefined && q.nextSeq <= maxSeq) q.nextSeq = maxSeq + 1;
      const d = delays.get(id);
      if (d !== undefined && d.nextSeq <= maxSeq) d.nextSeq = maxSeq + 1;
    }
    for (const [id, located] of paged) {
      const maxSeq = this.recovery.queueSeqs.get(id);
      if (maxSeq !== undefined) this.journal.purge(id, maxSeq, located);
    }
    // Only now may due delayed messages be routed: every queue has its messages and seqs.
    for (const d of delays.values()) d.start();
  }

  /** Recreate durable definitions in dependency order: exchanges, queues, bindings. */
  private rebuild(defs: Definition[]): Queue[] {
    const queues = [];
    for (const v of this.vhosts.values()) v.definitions.muted = true;
    for (const d of defs) {
      if (d.type === 'vhost') {
        this.storedVhosts.add(d.name);
        const v = this.vhostFor(d.name);
        v.description = d.description ?? '';
        v.tags = d.tags ?? [];
        v.limits = d.limits ?? {};
      } else if (d.type === 'user' || d.type === 'permission' || d.type === 'access-seeded') {
        try {
          this.access.restore(d);
        } catch (err) {
          this.reportError(err, `${d.type} definition not restored`);
        }
      }
    }
    // Once seeded, a record of a vhost that has no vhost record is a leftover of a deletion
    // cut short by a crash: dropped, so the deleted vhost does not come back.
    const orphan = (d: { vhost: string }, key: string): boolean => {
      if (!this.access.seeded || this.storedVhosts.has(d.vhost)) return false;
      this.journal.deleteDefinition(key);
      return true;
    };
    for (const d of defs) {
      if (d.type !== 'exchange') continue;
      if (orphan(d, JSON.stringify(['exchange', d.vhost, d.name]))) continue;
      try {
        this.vhostFor(d.vhost).restoreExchange(d);
      } catch (err) {
        this.reportError(err, `exchange '${d.name}': definition not restored`);
      }
      if (d.delayStore !== undefined) this.store.reserveQueueIds(d.delayStore);
      if (d.delayPageStore !== undefined) this.store.reserveQueueIds(d.delayPageStore);
      if (d.dedupScope !== undefined) this.store.reserveQueueIds(d.dedupScope);
    }
    for (const d of defs) {
      if (d.type !== 'queue') continue;
      this.store.reserveQueueIds(d.id);
      if (orphan(d, JSON.stringify(['queue', d.vhost, d.name]))) continue;
      queues.push(this.vhostFor(d.vhost).restoreQueue(d));
      // A definition written before the store kept its own high-water mark.
      this.store.reserveQueueIds(d.id);
    }
    for (const d of defs) {
      if (d.type !== 'binding') continue;
      if (orphan(d, bindingKey(d))) continue;
      const v = this.vhostFor(d.vhost);
      try {
        v.bind(d.source, d.destination, d.destinationType, d.routingKey, d.arguments, undefined);
      } catch {
        // A binding whose ends are gone is dropped, as RabbitMQ does on recovery.
      }
    }
    for (const v of this.vhosts.values()) v.definitions.muted = false;
    return queues;
  }

  private vhostFor(name: string): VirtualHost {
    let v = this.vhosts.get(name);
    if (v === undefined) {
      this.vhosts.set(name, (v = new VirtualHost(this, name)));
      v.definitions.muted = true;
    }
    return v;
  }
}

export { DEFAULT_BODY_BUDGET };
export type { StoreHealth };
