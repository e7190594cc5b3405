import type { MessageRef, PagedMessage, StoreOp } from '../store/store.js';
import { DeadlineTimer } from './deadline-timer.js';
import type { Exchange } from './exchange.js';
import { Message } from './message.js';
import { Routed } from './routing.js';
import type { Session } from './session.js';
import type { VirtualHost } from './vhost.js';

/** The exchange type of RabbitMQ's delayed-message plugin (and LavinMQ). */
export const DELAYED_TYPE = 'x-delayed-message';

/**
 * A message's `x-delay` header as the plugin reads it: integers as they are, floats truncated,
 * numeric strings parsed; anything else (absent, not a number) is no delay. 0 or less: none.
 */
export function delayOf(v: unknown): number {
  if (typeof v === 'object' && v !== null && '!' in v)
    v = (v as unknown as { value: unknown }).value;
  let ms: number;
  if (typeof v === 'number') ms = Math.trunc(v);
  else if (typeof v === 'bigint') ms = Number(v);
  else if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) ms = Number(v);
  else return 0;
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** Entries routed (or read back) per turn; more due ones go on after I/O. */
const BATCH = 256;
const JOURNALED = 1;
/** A transient message paged out to the journal under `pageId` (dropped at recovery). */
const PAGED_TRANSIENT = 2;

/**
 * The messages an `x-delayed-message` exchange holds until they are due. Each is kept in a
 * heap ordered by (due time, publish seq), so equal due times keep publish order. A journaled
 * one (persistent, durable exchange) is enqueued in the store under the exchange's hidden
 * store id with `expiresAt` = its due time (recovery keeps that for paged-out records, so the
 * heap is rebuilt without reading bodies); past the body budget only its store reference (12
 * bytes) stays in memory and it is read back when due. When due it is routed through the
 * exchange's bindings as they are then and moved with one atomic store commit (settle here,
 * enqueue on the targets), so after a crash it is in exactly one of the two places.
 *
 * A transient message past the body budget (on a durable exchange) is paged out the same
 * way under a second hidden id, `pageId`, whose records recovery drops (a transient message
 * does not outlive a restart): the spill is first-in first-out and cannot serve due order.
 */
export class DelayedMessages {
  readonly exchange: Exchange;
  /** The hidden store id its journaled messages are enqueued under (0: not durable). */
  readonly storeId: number;
  /** The hidden store id transient messages are paged out under (0: none, held in memory). */
  readonly pageId: number;
  nextSeq = 1;
  /** Unroutable when due, published with mandatory, but the publisher's channel was gone. */
  droppedReturns = 0;
  private readonly vhost: VirtualHost;
  private readonly heap = new DueHeap();
  /** Messages whose bodies are in memory, by seq (the rest are store references). */
  private readonly held = new Map<number, Message>();
  /** Publishers to send basic.return to if the message is unroutable when due. */
  private readonly returns = new Map<number, WeakRef<Session>>();
  private readonly timer = new DeadlineTimer(() => this.drain());
  private readonly routed = new Routed();
  /** Entries popped from the heap and being read back from the store, in order. */
  private loading: { seq: number; ref: MessageRef; flags: number }[] | undefined;
  private generation = 0;
  private started = false;
  private stopped = false;
  private immediate: NodeJS.Immediate | undefined;

  constructor(vhost: VirtualHost, exchange: Exchange, storeId: number, pageId = 0) {
    this.vhost = vhost;
    this.exchange = exchange;
    this.storeId = storeId;
    this.pageId = pageId;
  }

  get durable(): boolean {
    return this.storeId !== 0;
  }

  /** Messages waiting (management). */
  get messageCount(): number {
    return this.heap.length + (this.loading?.length ?? 0);
  }

  /** Take a message published now (already journaled under `storeId` when `journaled`). */
  add(m: Message, seq: number, journaled: boolean, returnTo: Session | undefined): void {
    if (returnTo !== undefined) this.returns.set(seq, new WeakRef(returnTo));
    this.keep(m, seq, journaled);
    if (this.started) this.timer.wakeAt(m.expiresAt);
  }

  /** A message read back at recovery: `expiresAt` is its due time. */
  restore(m: Message, seq: number): void {
    if (seq >= this.nextSeq) this.nextSeq = seq + 1;
    this.keep(m, seq, true);
  }

  /** Recovery is done (or the exchange is new): route what is due from now on. */
  start(): void {
    this.started = true;
    if (this.heap.length !== 0) this.timer.wakeAt(this.heap.topDue());
  }

  /** The broker closes: nothing more is routed (the store's settles would not be kept). */
  stop(): void {
    this.stopped = true;
    this.timer.stop();
    if (this.immediate !== undefined) clearImmediate(this.immediate);
  }

  /** The exchange is deleted: its pending messages go with it (one purge record). */
  destroy(): void {
    this.stop();
    this.generation++;
    const bodies = this.vhost.broker.bodies;
    const located: { location: MessageRef | undefined }[] = [];
    const paged: { location: MessageRef | undefined }[] = [];
    this.heap.forEach((seq, flags, ref) => {
      if ((flags & PAGED_TRANSIENT) !== 0) paged.push({ location: { ...ref } });
      if ((flags & JOURNALED) === 0) return;
      const m = this.held.get(seq);
      located.push({ location: m !== undefined ? m.location : { ...ref } });
    });
    for (const e of this.loading ?? [])
      ((e.flags & PAGED_TRANSIENT) !== 0 ? paged : located).push({ location: e.ref });
    for (const m of this.held.values()) bodies.unhold(m);
    this.held.clear();
    this.returns.clear();
    this.heap.clear();
    this.loading = undefined;
    if (this.durable && this.nextSeq > 1)
      this.vhost.broker.journal.purge(this.storeId, this.nextSeq - 1, located);
    if (this.pageId !== 0 && this.nextSeq > 1)
      this.vhost.broker.journal.purge(this.pageId, this.nextSeq - 1, paged);
  }

  private keep(m: Message, seq: number, journaled: boolean): void {
    const ref = m.location;
    const store = this.vhost.broker.journal.store;
    const canPage = journaled && ref !== undefined && store.capabilities.paging;
    const bodies = this.vhost.broker.bodies;
    if (!journaled && m.body !== undefined && bodies.over && this.pageOut(m, seq)) return;
    if (m.body !== undefined && (!canPage || !bodies.over)) {
      bodies.hold(m);
      this.held.set(seq, m);
      this.heap.push(m.expiresAt, seq, journaled ? JOURNALED : 0, 0, 0, 0);
    } else if (canPage) {
      this.heap.push(m.expiresAt, seq, JOURNALED, ref.segment, ref.offset, ref.size);
    } else {
      // A stub that cannot be read back (never the case: stubs come from a paging store).
      this.vhost.broker.reportError(
        new Error(`delayed message ${seq} has no body and cannot be read back`),
        `exchange '${this.exchange.name}': delayed message skipped`,
      );
    }
  }

  /**
   * Past the body budget, a transient message is written to the journal under `pageId` (not
   * waited for: nothing is confirmed by it) and only its reference stays. False when it
   * cannot be (no page id, a store that does not page, a refused write): it is held.
   */
  private pageOut(m: Message, seq: number): boolean {
    const guard = this.vhost.broker.journal;
    if (this.pageId === 0 || !guard.store.capabilities.paging || guard.batching) return false;
    if (guard.enqueue(m, [this.pageId], [seq]) !== undefined) return false;
    const ref = m.location!;
    this.heap.push(m.expiresAt, seq, PAGED_TRANSIENT, ref.segment, ref.offset, ref.size);
    return true;
  }

  /** Route every due entry, in (due, seq) order, a batch per turn. */
  private drain(): void {
    this.immediate = undefined;
    if (this.stopped || !this.started || this.loading !== undefined) return;
    const heap = this.heap;
    const now = Date.now();
    let n = 0;
    while (heap.length !== 0 && heap.topDue() <= now) {
      if (n++ === BATCH) {
        this.immediate = setImmediate(() => this.drain());
        this.immediate.unref();
        return;
      }
      const seq = heap.topSeq();
      const m = this.held.get(seq);
      if (m === undefined) {
        this.readBack(now);
        return;
      }
      const flags = heap.pop();
      this.held.delete(seq);
      this.route(m, seq, (flags & JOURNALED) !== 0, this.storeId);
      this.vhost.broker.bodies.unhold(m);
      if (this.stopped) return;
    }
    if (heap.length !== 0) this.timer.wakeAt(heap.topDue());
  }

  /** Read the due paged entries at the heap's top back; they are routed when the read lands. */
  private readBack(now: number): void {
    const heap = this.heap;
    const batch: { seq: number; ref: MessageRef; flags: number }[] = [];
    // One read is of one store id: journaled or paged-out transient entries, not both.
    let kind = -1;
    while (
      batch.length < BATCH &&
      heap.length !== 0 &&
      heap.topDue() <= now &&
      !this.held.has(heap.topSeq())
    ) {
      const seq = heap.topSeq();
      const ref = { ...heap.topRef() };
      const k = heap.topFlags() & PAGED_TRANSIENT;
      if (kind !== -1 && k !== kind) break;
      kind = k;
      const flags = heap.pop();
      batch.push({ seq, ref, flags });
    }
    this.loading = batch;
    const generation = this.generation;
    const store = this.vhost.broker.journal.store;
    store
      .load(
        batch.map((e) => e.ref),
        kind === PAGED_TRANSIENT ? this.pageId : this.storeId,
      )
      .then(
        (results) => {
          if (generation !== this.generation) return;
          this.landed(batch, results);
        },
        (err: unknown) => {
          if (generation !== this.generation) return;
          // Failed or closed for good: nothing more can be read (they stay journaled).
          this.stop();
          this.vhost.broker.reportError(
            err,
            `exchange '${this.exchange.name}': delayed messages not read back`,
          );
        },
      );
  }

  private landed(
    batch: { seq: number; ref: MessageRef; flags: number }[],
    results: (PagedMessage | Error)[],
  ): void {
    this.loading = undefined;
    if (this.stopped) return;
    for (let i = 0; i < batch.length; i++) {
      const r = results[i];
      if (r === undefined || r instanceof Error) {
        this.vhost.broker.reportError(
          r,
          `exchange '${this.exchange.name}': delayed message unreadable, skipped`,
        );
        continue;
      }
      const m = Message.fromStored(r.message);
      const transient = (batch[i]!.flags & PAGED_TRANSIENT) !== 0;
      if (transient) m.persistent = false;
      this.route(m, batch[i]!.seq, true, transient ? this.pageId : this.storeId);
      if (this.stopped) return;
    }
    this.drain();
  }

  /**
   * Route a due message as a copy that arrives now: x-delay becomes -delay (as the plugin:
   * the copy is not delayed again by a delayed exchange it reaches, and consumers can tell),
   * its own TTL (`expiration`) counts from now. Settle and enqueue are one store commit.
   */
  private route(m: Message, seq: number, journaled: boolean, storeId: number): void {
    const vhost = this.vhost;
    const broker = vhost.broker;
    const props = broker.properties;
    const delay = delayOf(props.header(m, 'x-delay'));
    const copy = props.withProperties(m, (p) => ({
      ...p,
      headers: { ...p.headers, 'x-delay': -delay },
    }));
    const expiration = props.of(copy).expiration;
    const ms = expiration === undefined ? NaN : Number(expiration);
    copy.expiresAt = Number.isInteger(ms) && ms >= 0 ? Date.now() + ms : 0;
    const returnTo = this.returns.get(seq);
    if (returnTo !== undefined) this.returns.delete(seq);
    const r = this.routed;
    vhost.route(this.exchange.name, m.routingKey, copy, r, true);
    // The publish arrives at its queues now: their deduplication applies (the exchange's own
    // was checked when it was published).
    r.checkDedup = true;
    r.dedupExchange = undefined;
    const settle: StoreOp | undefined = journaled
      ? { op: 'settle', queueId: storeId, seq, message: m }
      : undefined;
    vhost.apply(r, settle);
    if (vhost.tracing) vhost.tracer.due(this.exchange.name, r);
    if (r.failed !== undefined) {
      if (r.storeFailed) this.stop();
      else
        broker.reportError(r.failed, `exchange '${this.exchange.name}': delayed message refused`);
    } else if (
      r.queues.length === 0 &&
      r.delays.length === 0 &&
      r.rejected === undefined &&
      !r.duplicate
    ) {
      if (returnTo !== undefined) this.unroutable(r.message!, returnTo);
    }
    r.release();
  }

  /** Mandatory and unroutable when due: basic.return to the publisher, if it is still there. */
  private unroutable(m: Message, returnTo: WeakRef<Session>): void {
    const session = returnTo.deref();
    if (session !== undefined && !session.closed && session.handler.returned !== undefined) {
      session.handler.returned(m);
      return;
    }
    this.droppedReturns++;
    this.vhost.broker.reportError(
      new Error(
        `a mandatory delayed message was unroutable when due and its publisher's channel is closed: dropped (${this.droppedReturns} so far)`,
      ),
      `exchange '${this.exchange.name}': delayed message unroutable`,
    );
  }
}

/** The delay-store copy of a message published now: the same bytes, `expiresAt` = due. */
export function delayedCopy(m: Message, dueAt: number): Message {
  const c = new Message(
    m.exchange,
    m.routingKey,
    m.properties,
    EMPTY,
    m.persistent,
    m.priority,
    dueAt,
    m.timestamp,
  );
  c.body = m.body;
  c.bodySize = m.bodySize;
  c.decoded = m.decoded;
  return c;
}

const EMPTY = Buffer.alloc(0);

/**
 * A binary min-heap of (due, seq) with flags and a 12-byte store reference per entry, in
 * typed arrays (29 bytes an entry), so millions of waiting messages stay cheap.
 */
export class DueHeap {
  length = 0;
  private due = new Float64Array(64);
  private seq = new Float64Array(64);
  private flags = new Uint8Array(64);
  private refs = new Uint32Array(64 * 3);
  private readonly ref = { segment: 0, offset: 0, size: 0 };

  push(due: number, seq: number, flags: number, a: number, b: number, c: number): void {
    if (this.length === this.due.length) this.grow();
    let i = this.length++;
    // Sift up: move parents down until the slot is right, then write the entry there.
    while (i > 0) {
      const p = (i - 1) >>> 1;
      if (this.due[p]! < due || (this.due[p] === due && this.seq[p]! < seq)) break;
      this.move(p, i);
      i = p;
    }
    this.set(i, due, seq, flags, a, b, c);
  }

  topDue(): number {
    return this.due[0]!;
  }

  topSeq(): number {
    return this.seq[0]!;
  }

  topFlags(): number {
    return this.flags[0]!;
  }

  /** The top entry's store reference (valid until the next change). */
  topRef(): MessageRef {
    const r = this.ref;
    r.segment = this.refs[0]!;
    r.offset = this.refs[1]!;
    r.size = this.refs[2]!;
    return r;
  }

  /** Remove the top entry; returns its flags. */
  pop(): number {
    const flags = this.flags[0]!;
    const n = --this.length;
    if (n === 0) return flags;
    const due = this.due[n]!;
    const seq = this.seq[n]!;
    const f = this.flags[n]!;
    const a = this.refs[n * 3]!;
    const b = this.refs[n * 3 + 1]!;
    const c = this.refs[n * 3 + 2]!;
    let i = 0;
    for (;;) {
      let k = 2 * i + 1;
      if (k >= n) break;
      if (k + 1 < n && this.less(k + 1, k)) k++;
      if (due < this.due[k]! || (due === this.due[k] && seq < this.seq[k]!)) break;
      this.move(k, i);
      i = k;
    }
    this.set(i, due, seq, f, a, b, c);
    return flags;
  }

  forEach(fn: (seq: number, flags: number, ref: MessageRef) => void): void {
    const r = this.ref;
    for (let i = 0; i < this.length; i++) {
      r.segment = this.refs[i * 3]!;
      r.offset = this.refs[i * 3 + 1]!;
      r.size = this.refs[i * 3 + 2]!;
      fn(this.seq[i]!, this.flags[i]!, r);
    }
  }

  clear(): void {
    this.length = 0;
  }

  private less(i: number, j: number): boolean {
    const a = this.due[i]!;
    const b = this.due[j]!;
    return a < b || (a === b && this.seq[i]! < this.seq[j]!);
  }

  private move(from: number, to: number): void {
    this.due[to] = this.due[from]!;
    this.seq[to] = this.seq[from]!;
    this.flags[to] = this.flags[from]!;
    this.refs.copyWithin(to * 3, from * 3, from * 3 + 3);
  }

  private set(
    i: number,
    due: number,
    seq: number,
    flags: number,
    a: number,
    b: number,
    c: number,
  ): void {
    this.due[i] = due;
    this.seq[i] = seq;
    this.flags[i] = flags;
    this.refs[i * 3] = a;
    this.refs[i * 3 + 1] = b;
    this.refs[i * 3 + 2] = c;
  }

  private grow(): void {
    const n = this.due.length * 2;
    const due = new Float64Array(n);
    due.set(this.due);
    const seq = new Float64Array(n);
    seq.set(this.seq);
    const flags = new Uint8Array(n);
    flags.set(this.flags);
    const refs = new Uint32Array(n * 3);
    refs.set(this.refs);
    this.due = due;
    this.seq = seq;
    this.flags = flags;
    this.refs = refs;
  }
}
