/**
 * Property test of the failure policies (issue 9), driven through the Session door: random
 * queue policies (x-message-ttl, per-message expiration, x-max-length / -bytes with each
 * x-overflow, x-delivery-limit, a dead-letter exchange into a DLQ) and random sequences of
 * publish, consume, cancel, get, ack, nack (requeue or not), clock steps, session closes and
 * broker restarts. An oracle follows every message through the events the core reports
 * (deliveries to the session handler, removals through the queue's removal hook) and checks
 * each against the policy at that instant; at the end every message is in exactly one fate.
 *
 * The clock is node:test's mocked Date: expiry is decided by Date.now(), so it only moves when
 * a command says so and every "expired or not" is exact. A clock step fires the queue's expiry
 * wake-up by hand (its real setTimeout counts real milliseconds).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import type { Broker } from '../../src/core/broker.js';
import type { Consumer } from '../../src/core/consumer.js';
import type { Delivery, MessageView } from '../../src/core/delivery.js';
import { Message } from '../../src/core/message.js';
import type { Overflow } from '../../src/core/queue-policy.js';
import type { Queue, RemovalReason } from '../../src/core/queue.js';
import type { Session } from '../../src/core/session.js';
import { amqpPropertiesCodec } from '../../src/protocol/amqp/properties-codec.js';
import { newBroker, synced, tick } from '../helpers/core.js';

/**
 * Failure counts (x-delivery-count, the delivery limit) survive a restart (the journal's
 * FAILURES records). BATON_PROP_COUNTS_SURVIVE_RESTART=0 models a store that loses them.
 */
export const COUNTS_SURVIVE_RESTART = process.env.BATON_PROP_COUNTS_SURVIVE_RESTART !== '0';
/**
 * x-message-ttl keeps counting from the first enqueue across a restart (the journal keeps
 * arrival timestamps). BATON_PROP_TTL_SURVIVES_RESTART=0 models a store that does not.
 */
export const TTL_SURVIVES_RESTART = process.env.BATON_PROP_TTL_SURVIVES_RESTART !== '0';

export interface Policy {
  ttl: number | undefined;
  maxLength: number | undefined;
  maxLengthBytes: number | undefined;
  overflow: Overflow;
  deliveryLimit: number | undefined;
  dlx: boolean;
  /** x-max-priority (0: one level); unset: a FIFO queue. */
  maxPriority?: number | undefined;
}

export type Cmd =
  | {
      op: 'publish';
      persistent: boolean;
      expiration: number | undefined;
      pad: number;
      /** The priority property (unset: none); only a priority queue acts on it. */
      priority?: number | undefined;
    }
  | { op: 'consume'; s: number; prefetch: number; noAck: boolean }
  | { op: 'cancel'; s: number }
  | { op: 'get'; s: number; noAck: boolean }
  | { op: 'ack'; s: number; pick: number; multiple: boolean }
  | { op: 'nack'; s: number; pick: number; multiple: boolean; requeue: boolean }
  | { op: 'advance'; ms: number }
  | { op: 'close'; s: number }
  | { op: 'restart' };

const SLOTS = 2;

export const policyArb: fc.Arbitrary<Policy> = fc.record({
  ttl: fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 })), { nil: undefined }),
  maxLength: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined, freq: 2 }),
  maxLengthBytes: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined, freq: 3 }),
  overflow: fc.constantFrom<Overflow>('drop-head', 'reject-publish', 'reject-publish-dlx'),
  deliveryLimit: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  dlx: fc.boolean(),
  maxPriority: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
});

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
export const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('publish' as const),
      persistent: fc.boolean(),
      expiration: fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 })), {
        nil: undefined,
        freq: 3,
      }),
      pad: fc.integer({ min: 0, max: 6 }),
      // Up to 5 on a queue of at most 3: above the maximum counts as the maximum.
      priority: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined, freq: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('consume' as const),
      s: slot,
      prefetch: fc.integer({ min: 0, max: 3 }),
      noAck: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), s: slot }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('get' as const), s: slot, noAck: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('ack' as const),
      s: slot,
      pick: fc.nat(7),
      multiple: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('nack' as const),
      s: slot,
      pick: fc.nat(7),
      multiple: fc.boolean(),
      requeue: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 80 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), s: slot }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
);

type State =
  | 'ready'
  | 'unacked'
  | 'requeueing'
  | 'rejecting'
  | 'refusing'
  | 'acked'
  | 'dead-lettered'
  | 'dropped'
  | 'refused'
  | 'lost-transient';

/** The oracle's record of one message. */
interface M {
  id: string;
  /** Publish order: the queue's seq order, which the ready list keeps (per priority). */
  order: number;
  /** Its priority level in the queue (capped at x-max-priority; 0 on a FIFO queue). */
  level: number;
  persistent: boolean;
  bytes: number;
  /** When it expires (mocked Date.now() ms), 0 for never. */
  exp: number;
  /** Its own expiration (absolute), 0 for none: kept apart from the queue TTL for restarts. */
  ownExp: number;
  publishedAt: number;
  state: State;
  reason: RemovalReason | undefined;
  slot: number;
  tag: number;
  consumer: Consumer | undefined;
  /** Bounds of the failed-delivery count (equal unless a restart forgot it). */
  failMin: number;
  failMax: number;
  /** Handed out before in this broker's life: the next delivery must say redelivered. */
  delivered: boolean;
}

interface Slot {
  session: Session;
  consumers: Consumer[];
}

const FINAL: ReadonlySet<State> = new Set([
  'acked',
  'dead-lettered',
  'dropped',
  'refused',
  'lost-transient',
]);

/** One run of one command sequence against one broker. */
class Run {
  private broker!: Broker;
  private q!: Queue;
  private readonly slots: Slot[] = [];
  private pub!: Session;
  private getter!: Session;
  private pubSeq = 0;
  private confirmedUpto = 0;
  private readonly refusedSeqs = new Set<number>();
  private readonly msgs = new Map<string, M>();
  /** The source queue's ready messages as the oracle expects them, in order. */
  private readonly ready: M[] = [];
  /** The DLQ's expected content, in order. */
  private dlq: { m: M; reason: RemovalReason }[] = [];
  private publishing: M | undefined;
  private nextId = 0;
  /** The events so far, for a failure's message. */
  readonly trace: string[] = [];

  private readonly t: TestContext;
  private readonly dir: string;
  private readonly policy: Policy;

  constructor(t: TestContext, dir: string, policy: Policy) {
    this.t = t;
    this.dir = dir;
    this.policy = policy;
  }

  async open(): Promise<void> {
    this.broker = await newBroker({ dataDir: this.dir, segmentSize: 64 * 1024 });
    const boot = this.broker.connect({ user: 'test', trusted: true }).openSession({
      deliver: () => true,
      consumerCancelled: () => {},
    });
    // Declared every time (idempotent after a restart, as a client redeclares).
    boot.declareExchange('dlx', 'fanout', { durable: true });
    boot.declareQueue('dlq', { durable: true });
    boot.bind('dlx', 'dlq', 'queue', '');
    boot.declareQueue('src', { durable: true, arguments: queueArguments(this.policy) });
    boot.close();
    this.q = this.broker.vhost().getQueue('src', undefined);
    const inner = this.q.removalHook;
    const q = this.q;
    this.q.removalHook = (queue, entry, reason) => {
      // A closed broker's queue must not act any more (its timers may still fire).
      if (q !== this.q) this.fail(`the closed broker's queue removed a message (${reason})`);
      const moved = inner !== undefined && inner(queue, entry, reason);
      this.onRemoval(entry.message, reason, moved);
      return moved;
    };
    this.pub = this.broker.connect({ user: 'test', trusted: true }).openSession({
      deliver: () => true,
      consumerCancelled: () => {},
      confirmed: (upto) => (this.confirmedUpto = upto),
      refused: (seq) => this.refusedSeqs.add(seq),
    });
    this.pub.enableConfirms();
    this.pubSeq = 0;
    this.confirmedUpto = 0;
    this.refusedSeqs.clear();
    this.getter = this.openSlotSession(-1);
    this.slots.length = 0;
    for (let i = 0; i < SLOTS; i++)
      this.slots.push({ session: this.openSlotSession(i), consumers: [] });
  }

  private openSlotSession(i: number): Session {
    return this.broker.connect({ user: 'test', trusted: true }).openSession({
      deliver: (consumer, d, tag) => {
        this.onDeliver(i, consumer, d, tag, consumer.noAck);
        return true;
      },
      consumerCancelled: () => {},
    });
  }

  async close(): Promise<void> {
    await this.broker.close();
  }

  private now(): number {
    return Date.now();
  }

  private fail(what: string): never {
    assert.fail(`${what}\n  events:\n    ${this.trace.slice(-40).join('\n    ')}`);
  }

  private check(cond: boolean, what: string): asserts cond {
    if (!cond) this.fail(what);
  }

  private idOf(m: MessageView): M {
    const id = m.body!.toString().replace(/\.+$/, '');
    const r = this.msgs.get(id);
    if (r === undefined) this.fail(`unknown message ${id}`);
    return r;
  }

  private readyBytes(): number {
    let n = 0;
    for (const m of this.ready) n += m.bytes;
    return n;
  }

  /** At its place: higher levels first, then publish order (a requeue regains its place). */
  private insertReady(m: M): void {
    let i = this.ready.length;
    while (i > 0 && before(m, this.ready[i - 1]!)) i--;
    this.ready.splice(i, 0, m);
  }

  private removeReady(m: M): void {
    const i = this.ready.indexOf(m);
    this.check(i >= 0, `${m.id} left the ready list but the oracle had it ${m.state}`);
    this.ready.splice(i, 1);
  }

  private checkHead(m: M, what: string): void {
    const head = this.ready[0];
    this.check(
      head === m,
      `order: ${m.id} ${what} while ${head?.id ?? 'nothing'} is the head (ready ${this.readyIds()})`,
    );
  }

  private readyIds(): string {
    return `[${this.ready.map((m) => m.id).join(' ')}]`;
  }

  // ---- what the core reports ----------------------------------------------------------

  private onDeliver(
    slot: number,
    consumer: Consumer | undefined,
    d: Delivery,
    tag: number,
    noAck: boolean,
  ): void {
    const m = this.idOf(d.message);
    const now = this.now();
    this.trace.push(
      `deliver ${m.id} to ${slot < 0 ? 'getter' : `s${slot}`}${consumer === undefined ? ' (get)' : ''} tag ${tag}` +
        ` redelivered=${d.redelivered} failures=${d.failures} now=${now}`,
    );
    this.check(m.state === 'ready', `${m.id} delivered while ${m.state}`);
    this.checkHead(m, 'delivered');
    // A TTL-0 message may go to a consumer that takes it at once (RabbitMQ), in the same instant.
    const inGrace = m.exp !== 0 && m.exp <= m.publishedAt && now === m.publishedAt;
    this.check(
      m.exp === 0 || now < m.exp || inGrace,
      `${m.id} delivered at ${now}, after it expired at ${m.exp}`,
    );
    if (m.delivered) this.check(d.redelivered, `${m.id} delivered again without redelivered`);
    this.check(
      d.failures >= m.failMin && d.failures <= m.failMax,
      `${m.id} delivered with ${d.failures} failures, expected ${m.failMin}..${m.failMax}`,
    );
    m.failMin = m.failMax = d.failures;
    const count = amqpPropertiesCodec.decode(d.properties).headers?.['x-delivery-count'];
    if (this.policy.deliveryLimit !== undefined && d.failures !== 0)
      this.check(count === d.failures, `${m.id}: x-delivery-count ${String(count)}`);
    else this.check(count === undefined, `${m.id}: x-delivery-count ${String(count)} unasked`);
    this.removeReady(m);
    m.delivered = true;
    if (noAck) {
      m.state = 'acked';
      return;
    }
    m.state = 'unacked';
    m.slot = slot;
    m.tag = tag;
    m.consumer = consumer;
    if (consumer !== undefined && consumer.prefetch !== 0) {
      let held = 0;
      for (const x of this.msgs.values())
        if (x.state === 'unacked' && x.consumer === consumer) held++;
      this.check(
        held <= consumer.prefetch,
        `consumer holds ${held} > prefetch ${consumer.prefetch}`,
      );
    }
  }

  private onRemoval(message: MessageView, reason: RemovalReason, moved: boolean): void {
    const m = this.idOf(message);
    const p = this.policy;
    const now = this.now();
    this.trace.push(`remove ${m.id} (${reason}) now=${now} ${moved ? '-> dlq' : 'dropped'}`);
    switch (reason) {
      case 'expired':
        this.check(m.exp !== 0 && now >= m.exp, `${m.id} expired at ${now}, due at ${m.exp}`);
        if (m !== this.publishing) {
          this.check(m.state === 'ready', `${m.id} expired while ${m.state}`);
          this.checkHead(m, 'expired');
        }
        this.removeReady(m);
        break;
      case 'maxlen':
        if (m.state === 'refusing') {
          this.check(p.overflow === 'reject-publish-dlx', `${m.id} refused and dead-lettered`);
        } else {
          this.check(m.state === 'ready', `${m.id} dropped (maxlen) while ${m.state}`);
          this.check(
            p.overflow === 'drop-head',
            `${m.id} dropped from the head under ${p.overflow}`,
          );
          this.checkHead(m, 'dropped for length');
          const over =
            (p.maxLength !== undefined && this.ready.length > p.maxLength) ||
            (p.maxLengthBytes !== undefined && this.readyBytes() > p.maxLengthBytes);
          this.check(over, `${m.id} dropped for length with ${this.readyIds()} ready`);
          this.removeReady(m);
        }
        break;
      case 'delivery_limit':
        this.check(m.state === 'requeueing', `${m.id} over its delivery limit while ${m.state}`);
        this.check(
          p.deliveryLimit !== undefined && m.failMax > p.deliveryLimit,
          `${m.id} dropped for its delivery limit after ${m.failMin}..${m.failMax} failures`,
        );
        break;
      case 'rejected':
        this.check(m.state === 'rejecting', `${m.id} rejected while ${m.state}`);
        break;
      default:
        this.fail(`${m.id} removed through the hook as ${reason}`);
    }
    this.check(moved === p.dlx, `${m.id}: dead-lettered=${moved} with dlx=${p.dlx}`);
    m.reason = reason;
    if (moved) {
      m.state = 'dead-lettered';
      this.dlq.push({ m, reason });
    } else m.state = reason === 'maxlen' && m.state === 'refusing' ? 'refused' : 'dropped';
  }

  // ---- commands -----------------------------------------------------------------------

  async run(cmd: Cmd): Promise<void> {
    this.trace.push(`> ${JSON.stringify(cmd)}`);
    switch (cmd.op) {
      case 'publish':
        this.publish(cmd.persistent, cmd.expiration, cmd.pad, cmd.priority);
        break;
      case 'consume': {
        const s = this.slots[cmd.s]!;
        s.consumers.push(s.session.consume('src', { prefetch: cmd.prefetch, noAck: cmd.noAck }));
        break;
      }
      case 'cancel': {
        const s = this.slots[cmd.s]!;
        const c = s.consumers.pop();
        if (c !== undefined) s.session.cancel(c.tag);
        break;
      }
      case 'get':
        await this.get(this.slots[cmd.s]!.session, cmd.s, cmd.noAck);
        break;
      case 'ack':
      case 'nack': {
        const held = this.unackedOf(cmd.s);
        if (held.length === 0) break;
        const chosen = held[cmd.pick % held.length]!;
        const hit = cmd.multiple ? held.filter((m) => m.tag <= chosen.tag) : [chosen];
        const session = this.slots[cmd.s]!.session;
        if (cmd.op === 'ack') {
          for (const m of hit) m.state = 'acked';
          session.ack(chosen.tag, cmd.multiple);
        } else if (cmd.requeue) {
          this.requeueing(hit, () => session.nack(chosen.tag, cmd.multiple, true));
        } else {
          for (const m of hit) m.state = 'rejecting';
          session.nack(chosen.tag, cmd.multiple, false);
          for (const m of hit) this.check(m.state !== 'rejecting', `${m.id} rejected, not removed`);
        }
        break;
      }
      case 'advance':
        this.t.mock.timers.tick(cmd.ms);
        // What the queue's expiry wake-up does when its (real-time) timer fires.
        this.q.scheduleDrain();
        break;
      case 'close':
        this.closeSlot(cmd.s);
        break;
      case 'restart':
        await this.restart();
        break;
    }
    await settle();
    this.checkCounts();
  }

  private publish(
    persistent: boolean,
    expiration: number | undefined,
    pad: number,
    priority: number | undefined,
  ): void {
    const id = `m${this.nextId++}`;
    const now = this.now();
    const body = Buffer.from(id + '.'.repeat(pad));
    const ownExp = expiration === undefined ? 0 : now + expiration;
    const m: M = {
      id,
      order: this.nextId,
      level:
        this.policy.maxPriority === undefined
          ? 0
          : Math.min(priority ?? 0, this.policy.maxPriority),
      persistent,
      bytes: body.length,
      ownExp,
      exp: earliest(ownExp, this.policy.ttl === undefined ? 0 : now + this.policy.ttl),
      publishedAt: now,
      state: 'ready',
      reason: undefined,
      slot: -1,
      tag: 0,
      consumer: undefined,
      failMin: 0,
      failMax: 0,
      delivered: false,
    };
    this.msgs.set(id, m);
    const p = this.policy;
    const full =
      p.overflow !== 'drop-head' &&
      ((p.maxLength !== undefined && this.ready.length >= p.maxLength) ||
        (p.maxLengthBytes !== undefined && this.readyBytes() + m.bytes > p.maxLengthBytes));
    if (full) m.state = 'refusing';
    else this.insertReady(m);
    const properties = amqpPropertiesCodec.encode({
      messageId: id,
      deliveryMode: persistent ? 2 : 1,
      ...(expiration === undefined ? {} : { expiration: String(expiration) }),
      ...(priority === undefined ? {} : { priority }),
    });
    const message = new Message('', 'src', properties, body, persistent, priority ?? 0, ownExp);
    this.publishing = m;
    const r = this.pub.publish('', 'src', message);
    this.publishing = undefined;
    const seq = ++this.pubSeq;
    this.trace.push(
      `published ${id} (${body.length} bytes, exp ${m.exp}, level ${m.level}) now=${now}${full ? ' refused' : ''}`,
    );
    this.check(r.failed === undefined, `publish of ${id} failed: ${String(r.failed)}`);
    this.check(
      (r.rejected !== undefined) === full && this.refusedSeqs.has(seq) === full,
      `${id}: refused=${r.rejected !== undefined} (nacked=${this.refusedSeqs.has(seq)}), expected ${full} with ${this.readyIds()} ready`,
    );
    if (m.state === 'refusing') m.state = 'refused';
  }

  private async get(session: Session, slot: number, noAck: boolean): Promise<boolean> {
    const d = await session.getOrWait('src', noAck);
    if (d === undefined) {
      this.trace.push(`get ${slot}: empty`);
      this.check(this.ready.length === 0, `get found nothing, oracle has ${this.readyIds()}`);
      return false;
    }
    this.onDeliver(slot, undefined, d, d.tag, noAck);
    return true;
  }

  private unackedOf(slot: number): M[] {
    const r: M[] = [];
    for (const m of this.msgs.values()) if (m.state === 'unacked' && m.slot === slot) r.push(m);
    return r.sort((a, b) => a.tag - b.tag);
  }

  /** `fn` gives `hit` back unsettled: each is one more failure; over the limit, removed. */
  private requeueing(hit: M[], fn: () => void): void {
    for (const m of hit) {
      m.state = 'requeueing';
      m.failMin++;
      m.failMax++;
    }
    fn();
    const limit = this.policy.deliveryLimit;
    for (const m of hit) {
      if (m.state !== 'requeueing') continue;
      this.check(
        limit === undefined || m.failMin <= limit,
        `${m.id} requeued after ${m.failMin} failures, over the delivery limit ${String(limit)}`,
      );
      if (limit !== undefined) m.failMax = Math.min(m.failMax, limit);
      m.state = 'ready';
      m.consumer = undefined;
      m.slot = -1;
      this.insertReady(m);
    }
  }

  private closeSlot(i: number): void {
    const s = this.slots[i]!;
    this.requeueing(this.unackedOf(i), () => s.session.close());
    s.session = this.openSlotSession(i);
    s.consumers = [];
  }

  private async restart(): Promise<void> {
    // Sessions end first (as broker.close does): their deliveries go back, counted as failures.
    for (let i = 0; i < SLOTS; i++) this.closeSlot(i);
    this.getter.close();
    await this.checkConfirmed();
    this.trace.push('closing the broker');
    await this.broker.close();
    this.trace.push('closed');
    const now = this.now();
    for (const m of [...this.ready]) {
      if (!m.persistent) {
        m.state = 'lost-transient';
        this.removeReady(m);
        continue;
      }
      m.delivered = false;
      // Only a queue that counts failures (a delivery limit) journals them.
      if (this.policy.deliveryLimit === undefined) m.failMin = m.failMax = 0;
      else if (!COUNTS_SURVIVE_RESTART) m.failMin = 0;
      if (!TTL_SURVIVES_RESTART && this.policy.ttl !== undefined)
        m.exp = earliest(m.ownExp, now + this.policy.ttl);
    }
    this.dlq = this.dlq.filter(({ m }) => {
      if (!m.persistent) m.state = 'lost-transient';
      return m.persistent;
    });
    this.trace.push(`restarted now=${now}, ready ${this.readyIds()}`);
    await this.open();
  }

  /**
   * Every publish is answered: confirmed, or refused (a nack is an answer too). A confirm
   * names the newest accepted publish, so refused ones at the end are covered by their nack.
   */
  private answeredUpto(): number {
    let upto = this.confirmedUpto;
    while (upto < this.pubSeq && this.refusedSeqs.has(upto + 1)) upto++;
    return upto;
  }

  private async checkConfirmed(): Promise<void> {
    // A session waiting on one sync asks for the next after it: a few rounds, bounded.
    for (let i = 0; i < 20 && this.answeredUpto() < this.pubSeq; i++) {
      await synced(this.broker);
      await tick();
    }
    this.check(
      this.answeredUpto() === this.pubSeq,
      `answered up to ${this.answeredUpto()} of ${this.pubSeq} publishes`,
    );
    this.check(
      !this.refusedSeqs.has(this.confirmedUpto),
      `the confirm names publish ${this.confirmedUpto}, which was nacked`,
    );
  }

  /** The queue's counts and each session's unacked tags are the oracle's. */
  private checkCounts(): void {
    this.check(
      this.q.messageCount === this.ready.length,
      `queue has ${this.q.messageCount} ready, oracle ${this.readyIds()}`,
    );
    let unacked = 0;
    for (let i = 0; i < SLOTS; i++) {
      const want = this.unackedOf(i).map((m) => m.tag);
      unacked += want.length;
      const have = [...this.slots[i]!.session.unacked.keys()];
      this.check(
        JSON.stringify(have) === JSON.stringify(want),
        `s${i} holds tags ${JSON.stringify(have)}, oracle ${JSON.stringify(want)}`,
      );
    }
    this.check(this.q.unackedCount === unacked, `queue counts ${this.q.unackedCount} unacked`);
    // An expiring head has a wake-up: it expires on time even with nobody consuming.
    const head = this.ready[0];
    if (head !== undefined && head.exp > this.now())
      this.check(
        this.q.timer.armedFor <= head.exp,
        `head ${head.id} expires at ${head.exp}, queue wakes at ${this.q.timer.armedFor}`,
      );
  }

  /**
   * The end: what the oracle says is still queued is there, in order; the DLQ holds exactly
   * the dead-lettered ones with their reasons; every message has exactly one fate.
   */
  async finish(): Promise<Record<string, number>> {
    for (let i = 0; i < SLOTS; i++) this.closeSlot(i);
    await settle();
    this.checkCounts();
    await this.checkConfirmed();
    this.trace.push('> final drain');
    while (await this.get(this.getter, -1, true));
    this.check(this.ready.length === 0, `left ready: ${this.readyIds()}`);
    const dead: string[] = [];
    for (;;) {
      const d = this.getter.get('dlq', true);
      if (d === undefined) break;
      const h = amqpPropertiesCodec.decode(d.properties);
      const deaths = h.headers?.['x-death'] as Record<string, unknown>[] | undefined;
      const x = deaths?.[0];
      dead.push(
        `${this.idOf(d.message).id}:${String(x?.reason)}:${String(x?.queue)}:${String(x?.count)}:${deaths?.length}:${String(h.messageId)}`,
      );
    }
    const want = this.dlq.map(({ m, reason }) => `${m.id}:${reason}:src:1:1:${m.id}`);
    this.check(
      JSON.stringify(dead) === JSON.stringify(want),
      `DLQ holds ${JSON.stringify(dead)}, oracle ${JSON.stringify(want)}`,
    );
    const fates: Record<string, number> = {};
    for (const m of this.msgs.values()) {
      this.check(FINAL.has(m.state), `${m.id} ended ${m.state}`);
      const k =
        m.state === 'dropped' || m.state === 'dead-lettered' ? `${m.state}:${m.reason}` : m.state;
      fates[k] = (fates[k] ?? 0) + 1;
    }
    return fates;
  }
}

/** Whether `a` is delivered before `b`: a higher level, or the same level and older. */
function before(a: M, b: M): boolean {
  return a.level > b.level || (a.level === b.level && a.order < b.order);
}

function earliest(a: number, b: number): number {
  return a === 0 ? b : b === 0 ? a : Math.min(a, b);
}

function queueArguments(p: Policy): Record<string, unknown> {
  const a: Record<string, unknown> = {};
  if (p.ttl !== undefined) a['x-message-ttl'] = p.ttl;
  if (p.maxLength !== undefined) a['x-max-length'] = p.maxLength;
  if (p.maxLengthBytes !== undefined) a['x-max-length-bytes'] = p.maxLengthBytes;
  if (p.maxLength !== undefined || p.maxLengthBytes !== undefined) a['x-overflow'] = p.overflow;
  if (p.deliveryLimit !== undefined) a['x-delivery-limit'] = p.deliveryLimit;
  if (p.dlx) a['x-dead-letter-exchange'] = 'dlx';
  if (p.maxPriority !== undefined) a['x-max-priority'] = p.maxPriority;
  return a;
}

/** Let drains (microtasks, then setImmediate past their budget) run out. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await tick();
}

export interface PropertyStats {
  runs: number;
  commands: number;
  fates: Record<string, number>;
}

/**
 * Run the property `numRuns` times. A failure reports fast-check's seed, path and the shrunk
 * policy and command list (replay: BATON_PROP_SEED=<seed> BATON_PROP_PATH=<path>).
 */
export async function checkFailurePolicies(
  t: TestContext,
  numRuns: number,
  maxCommands = 40,
): Promise<PropertyStats> {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const stats: PropertyStats = { runs: 0, commands: 0, fates: {} };
  const seed = process.env.BATON_PROP_SEED;
  const path = process.env.BATON_PROP_PATH;
  await fc.assert(
    fc.asyncProperty(
      policyArb,
      fc.array(cmdArb, { minLength: 1, maxLength: maxCommands, size: 'max' }),
      async (policy, cmds) => {
        const dir = mkdtempSync(join(tmpdir(), 'baton-prop-'));
        const run = new Run(t, dir, policy);
        try {
          await run.open();
          for (const c of cmds) await run.run(c);
          const fates = await run.finish();
          stats.runs++;
          stats.commands += cmds.length;
          for (const [k, n] of Object.entries(fates)) stats.fates[k] = (stats.fates[k] ?? 0) + n;
        } finally {
          await run.close();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    {
      numRuns,
      includeErrorInReport: true,
      ...(seed === undefined ? {} : { seed: Number(seed) }),
      ...(path === undefined ? {} : { path }),
    },
  );
  return stats;
}

/** Run one sequence (a shrunk counterexample, say) against a fresh broker. */
export async function replayFailurePolicies(
  t: TestContext,
  policy: Policy,
  cmds: Cmd[],
): Promise<Record<string, number>> {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const dir = mkdtempSync(join(tmpdir(), 'baton-prop-'));
  const run = new Run(t, dir, policy);
  try {
    await run.open();
    for (const c of cmds) await run.run(c);
    return await run.finish();
  } finally {
    await run.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
