import {
  describeValue,
  integerArgument,
  invalidArgument,
  type ArgumentOwner,
} from './arguments.js';
import type { Message } from './message.js';
import type { Properties } from './properties.js';
import type { Routed } from './routing.js';
import type { StoreGuard } from './store-guard.js';
import type { StoreOp } from '../store/store.js';

/**
 * Message deduplication with the names LavinMQ and RabbitMQ's message-deduplication plugin
 * use: a queue or an exchange declared with `x-message-deduplication: true` keeps the ids
 * (the value of the `x-deduplication-header` header, or of the header named by that
 * argument) it took within a window: at most `x-cache-size` ids, each for `x-cache-ttl` ms
 * (argument, or the message's own `x-cache-ttl` header; neither: until evicted by size).
 * A publish whose id is held is confirmed but not enqueued (queue) or not routed (exchange).
 *
 * Unlike LavinMQ and the plugin, the ids of journaled messages are journaled in the same
 * atomic commit as the enqueue they guard, and recovered: after any crash either the message
 * and its id exist, or neither, so a producer resending what was not confirmed never makes a
 * duplicate. Ids of transient messages (or of non-durable queues and exchanges) are kept in
 * memory only: they go with their messages at a restart.
 */

/** LavinMQ's default x-cache-size. */
export const DEFAULT_CACHE_SIZE = 128;
/** The header holding a message's id, unless x-deduplication-header names another. */
export const DEFAULT_DEDUP_HEADER = 'x-deduplication-header';
/** Beyond it a cache would not fit in one Map (2^24 entries) and memory (~100 B an id). */
const MAX_CACHE_SIZE = 10_000_000;

/** A queue's or exchange's deduplication arguments, checked at declare. */
export interface DedupPolicy {
  cacheSize: number;
  /** ms an id is held; undefined: until evicted by size. */
  cacheTtl: number | undefined;
  header: string;
}

type Where = ArgumentOwner;

const DEDUP_ARGS = ['x-cache-size', 'x-cache-ttl', 'x-deduplication-header'] as const;

/**
 * The deduplication arguments of a queue or exchange, or undefined when it deduplicates
 * nothing. Wrong types and ranges are 406, as every other argument; the settings without
 * `x-message-deduplication: true` are refused too (they would do nothing).
 */
export function parseDedupPolicy(
  args: Record<string, unknown>,
  where: Where,
): DedupPolicy | undefined {
  const on = args['x-message-deduplication'];
  if (on !== undefined && typeof on !== 'boolean')
    throw invalidArgument(
      'x-message-deduplication',
      where,
      `must be a boolean, got ${describeValue(on)}`,
    );
  if (on !== true) {
    for (const name of DEDUP_ARGS)
      if (args[name] !== undefined)
        throw invalidArgument(name, where, 'x-message-deduplication must be true when it is set');
    return undefined;
  }
  const header = args['x-deduplication-header'];
  let name = DEFAULT_DEDUP_HEADER;
  if (header !== undefined) {
    const s = Buffer.isBuffer(header) ? header.toString() : header;
    if (typeof s !== 'string' || s === '')
      throw invalidArgument(
        'x-deduplication-header',
        where,
        `must be a header name, got ${describeValue(s)}`,
      );
    name = s;
  }
  return {
    cacheSize:
      integerArgument(args, 'x-cache-size', 1, MAX_CACHE_SIZE, where, true) ?? DEFAULT_CACHE_SIZE,
    cacheTtl: integerArgument(args, 'x-cache-ttl', 0, 0xffffffff, where, true),
    header: name,
  };
}

/**
 * The cache key of a header value: strings (and byte strings) and numbers are ids, tagged by
 * type so the string '1' and the number 1 stay apart (as in LavinMQ). Anything else (void,
 * tables, arrays, decimals, timestamps) is no id: the message is not checked.
 */
export function dedupKey(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return 's' + v;
    case 'number':
    case 'bigint':
      return 'n' + String(v);
    case 'boolean':
      return v ? 'b1' : 'b0';
    default:
      return Buffer.isBuffer(v) ? 's' + v.toString() : undefined;
  }
}

/**
 * The ids one queue or exchange holds: id -> expiresAt (wall-clock ms, 0 = never), oldest
 * first, so x-cache-size evicts in insertion order (FIFO, as LavinMQ). Expired ids are dropped
 * lazily, when looked up or evicted.
 */
export class DedupCache {
  /** Store scope: the queue's id, or the id allocated for the exchange. */
  readonly scope: number;
  readonly policy: DedupPolicy;
  /** Its ids are journaled with the messages they guard (durable queue or exchange). */
  readonly durable: boolean;
  private readonly ids = new Map<string, number>();
  private readonly store: StoreGuard;

  constructor(scope: number, policy: DedupPolicy, durable: boolean, store: StoreGuard) {
    this.scope = scope;
    this.policy = policy;
    this.durable = durable;
    this.store = store;
  }

  get size(): number {
    return this.ids.size;
  }

  /** The key of `m`'s id, undefined when it carries none. */
  keyOf(m: Message, props: Properties): string | undefined {
    return dedupKey(props.header(m, this.policy.header));
  }

  /** When an id taken now from `m` expires: its x-cache-ttl header, else the argument. */
  expiryOf(m: Message, props: Properties, now: number): number {
    const h = props.header(m, 'x-cache-ttl');
    const ttl =
      typeof h === 'number' && Number.isInteger(h) && h >= 0
        ? h
        : typeof h === 'bigint' && h >= 0n
          ? Number(h)
          : this.policy.cacheTtl;
    return ttl === undefined ? 0 : now + ttl;
  }

  has(key: string, now: number): boolean {
    const e = this.ids.get(key);
    if (e === undefined) return false;
    if (e !== 0 && e <= now) {
      this.ids.delete(key);
      return false;
    }
    return true;
  }

  /**
   * Hold `key` until `expiresAt`, evicting expired ids at the old end (so a cache with a TTL
   * does not grow to its size) and the oldest id past x-cache-size.
   */
  add(key: string, expiresAt: number): void {
    this.ids.delete(key);
    if (this.ids.size !== 0) this.evictExpired(Date.now());
    while (this.ids.size >= this.policy.cacheSize) {
      const oldest = this.ids.keys().next().value!;
      this.ids.delete(oldest);
      if (this.durable) this.store.forgetDedup(this.scope, oldest);
    }
    this.ids.set(key, expiresAt);
  }

  /** Ids expire in about the order they were taken: drop them from the old end. */
  private evictExpired(now: number): void {
    for (const [key, e] of this.ids) {
      if (e === 0 || e > now) return;
      this.ids.delete(key);
      if (this.durable) this.store.forgetDedup(this.scope, key);
    }
  }

  /** Undo an `add` whose commit the store refused. */
  remove(key: string): void {
    this.ids.delete(key);
  }

  /** An id the store recovered (oldest first); an expired one is skipped. */
  restore(key: string, expiresAt: number, now: number): void {
    if (expiresAt === 0 || expiresAt > now) this.add(key, expiresAt);
  }

  /** The queue or exchange is gone: the store may drop its ids. */
  drop(): void {
    this.ids.clear();
    if (this.durable) this.store.forgetDedup(this.scope);
  }
}

/**
 * The ids one publish took, to journal with it and to give back if the store refuses it.
 * Ids are held from the moment they are claimed, so a second publish with the same id in the
 * same turn (or the same transaction commit) is a duplicate of the first.
 */
export class DedupClaim {
  private readonly caches: DedupCache[] = [];
  private readonly keys: string[] = [];
  private readonly expiries: number[] = [];

  get empty(): boolean {
    return this.caches.length === 0;
  }

  take(cache: DedupCache, key: string, expiresAt: number): void {
    cache.add(key, expiresAt);
    this.caches.push(cache);
    this.keys.push(key);
    this.expiries.push(expiresAt);
  }

  /**
   * The store ops recording the ids of durable caches, for the commit of the message's
   * enqueue: only when the message is journaled (`journaled`), so recovery finds an id
   * exactly when it finds the message it guards.
   */
  ops(journaled: boolean, out: StoreOp[]): void {
    if (!journaled) return;
    for (let i = 0; i < this.caches.length; i++) {
      const c = this.caches[i]!;
      if (c.durable)
        out.push({ op: 'dedup', scope: c.scope, id: this.keys[i]!, expiresAt: this.expiries[i]! });
    }
  }

  /** The commit failed: the ids were not taken after all. */
  abort(): void {
    for (let i = 0; i < this.caches.length; i++) this.caches[i]!.remove(this.keys[i]!);
  }
}

/**
 * Check a routed publish against the deduplication caches of the exchange it was published
 * to (`r.dedupExchange`) and of the queues it reached: an exchange that holds its id routes it
 * nowhere, a queue that does is taken off `r.queues`; either sets `r.duplicate`. Returns the
 * ids the publish takes (held from now on), or undefined when it takes none. Call at apply
 * time (a transaction: at commit), after reject-publish has taken full queues off.
 */
export function claimIds(r: Routed, props: Properties, now: number): DedupClaim | undefined {
  const m = r.message!;
  let claim: DedupClaim | undefined;
  const ex = r.dedupExchange;
  if (ex !== undefined) {
    const key = ex.keyOf(m, props);
    if (key !== undefined) {
      if (ex.has(key, now)) {
        r.queues.length = 0;
        r.delays.length = 0;
        r.duplicate = true;
        return undefined;
      }
      // Nacked (a full reject-publish queue refused it) or routed nowhere: no id is taken,
      // so the publisher's retry gets through.
      if (r.rejected === undefined && (r.queues.length !== 0 || r.delays.length !== 0))
        (claim = new DedupClaim()).take(ex, key, ex.expiryOf(m, props, now));
    }
  }
  const queues = r.queues;
  for (let i = 0; i < queues.length; i++) {
    const c = queues[i]!.dedup;
    if (c === undefined) continue;
    const key = c.keyOf(m, props);
    if (key === undefined) continue;
    if (c.has(key, now)) {
      queues.splice(i--, 1);
      r.duplicate = true;
    } else (claim ??= new DedupClaim()).take(c, key, c.expiryOf(m, props, now));
  }
  return claim;
}

/** What dedupRestore needs of a vhost. */
interface DedupOwners {
  readonly queues: ReadonlyMap<string, { readonly dedup: DedupCache | undefined }>;
  readonly exchanges: ReadonlyMap<string, { readonly dedup: DedupCache | undefined }>;
}

/**
 * The ids recovery hands back (oldest first), given to their queues' and exchanges' caches
 * once those are rebuilt; each cache applies its x-cache-size in that order. Ids of a scope no
 * queue or exchange owns any more (deleted before a crash) are forgotten by the store.
 */
export class DedupRestore {
  private readonly scopes: number[] = [];
  private readonly keys: string[] = [];
  private readonly expiries: number[] = [];

  add(scope: number, key: string, expiresAt: number): void {
    this.scopes.push(scope);
    this.keys.push(key);
    this.expiries.push(expiresAt);
  }

  apply(vhosts: Iterable<DedupOwners>, store: StoreGuard): void {
    if (this.scopes.length === 0) return;
    const caches = new Map<number, DedupCache>();
    for (const v of vhosts) {
      for (const q of v.queues.values())
        if (q.dedup?.durable === true) caches.set(q.dedup.scope, q.dedup);
      for (const x of v.exchanges.values())
        if (x.dedup?.durable === true) caches.set(x.dedup.scope, x.dedup);
    }
    const now = Date.now();
    const orphans = new Set<number>();
    for (let i = 0; i < this.scopes.length; i++) {
      const scope = this.scopes[i]!;
      const c = caches.get(scope);
      if (c !== undefined) c.restore(this.keys[i]!, this.expiries[i]!, now);
      else orphans.add(scope);
    }
    for (const scope of orphans) store.forgetDedup(scope);
  }
}
