/**
 * Property test of delivery order (issue 10), driven through the Session door: a queue with
 * random options (x-max-priority, x-single-active-consumer) gets messages with random
 * priorities and message groups (x-group-id), and random sequences of publish, consume,
 * cancel, get, ack, nack (requeue or not), session closes and broker restarts. At every
 * delivery an oracle checks what may be delivered then:
 *
 * - nothing is in two places: a delivered message was ready (not out, not settled);
 * - groups: no other message of its group is out, and it is the group's first in the queue's
 *   order (priority, then publish) unless an earlier one of the group went out and came back
 *   (requeued): that one holds the group until it goes out again;
 * - priorities and FIFO: no other deliverable message (ungrouped, or the next of its group)
 *   has a higher priority, or the same priority and an earlier publish;
 * - single active consumer: a push delivery goes to the oldest live consumer.
 *
 * With `tx` (OrderFeatures) a slot's session may become transactional (Session.selectTx) and
 * publishes go out on random slots: a transactional slot's publishes and settles are held
 * until commit, when they apply in order (publishes enter the queue in publish order, then
 * settles), and rollback drops the publishes and gives the held deliveries back unacked. A
 * held publish is never delivered, a held-acked message is neither delivered again nor gone
 * from the queue's counts, a close with an open transaction rolls back and requeues.
 * With `delays` publishes go through an x-delayed-message exchange (x-delayed-type direct)
 * with a random x-delay, and the (mocked) clock moves only by `advance`: a delayed message is
 * never delivered before it is due, due ones enter the queue in (due, entry) order and then
 * obey the same order rules; restarts keep the pending ones. With `crash` the broker is also
 * "crashed": after a sync its data dir is copied while it runs (an unsealed journal, as a
 * killed process leaves it) and a new broker recovers the copy.
 *
 * After every command the queue's ready and unacked counts, each session's unacked tags and
 * the delayed exchange's pending count match the oracle. At the end every message published
 * outside a rolled-back transaction has been settled exactly once, and no other was ever seen.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import type { Broker } from '../../src/core/broker.js';
import type { DelayedMessages } from '../../src/core/delayed.js';
import type { Consumer } from '../../src/core/consumer.js';
import type { Delivery, MessageView } from '../../src/core/delivery.js';
import { Message } from '../../src/core/message.js';
import type { Queue } from '../../src/core/queue.js';
import type { Session } from '../../src/core/session.js';
import { amqpPropertiesCodec } from '../../src/protocol/amqp/properties-codec.js';
import { LOCK_FILE } from '../../src/store/journal/dir-lock.js';
import { newBroker, synced, tick } from '../helpers/core.js';

export interface OrderPolicy {
  /** x-max-priority, undefined for a FIFO queue. */
  maxPriority: number | undefined;
  singleActive: boolean;
  /**
   * Slots (bit i: slot i) whose every session selects tx at once, as a client that reopens
   * its transactional channel; others may select later (txSelect).
   */
  txSlots?: number;
}

/** What the commands may do beyond publish/consume/settle/close/restart. */
export interface OrderFeatures {
  /** x-max-priority on the queue (else FIFO). */
  priorities: boolean;
  /** Transactions on the slots' sessions (txSelect, commit, rollback). */
  tx: boolean;
  /** Publishes through a delayed exchange with x-delay, clock steps (`advance`). */
  delays: boolean;
  /** Crash-image restarts besides clean ones. */
  crash: boolean;
}

export type OrderCmd =
  | {
      op: 'publish';
      group: number;
      priority: number;
      /** The slot publishing (0 when absent). */
      s?: number;
      /** x-delay through the delayed exchange; absent: published to the queue directly. */
      delay?: number;
    }
  | { op: 'consume'; s: number; prefetch: number; noAck: boolean }
  | { op: 'cancel'; s: number }
  | { op: 'get'; s: number; noAck: boolean }
  | { op: 'ack'; s: number; pick: number; multiple: boolean }
  | { op: 'nack'; s: number; pick: number; multiple: boolean; requeue: boolean }
  | { op: 'close'; s: number }
  /** downMs: how long the clock runs while the broker is down (delayed messages fall due). */
  | { op: 'restart'; downMs?: number }
  | { op: 'txSelect'; s: number }
  | { op: 'commit'; s: number }
  | { op: 'rollback'; s: number }
  | { op: 'advance'; ms: number }
  | { op: 'crash'; downMs?: number };

const SLOTS = 3;
/** Group 0 is "no group". */
const GROUPS = 3;

export function orderPolicyArb(priorities: boolean, tx = false): fc.Arbitrary<OrderPolicy> {
  return fc.record({
    maxPriority: priorities
      ? fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined })
      : fc.constant(undefined),
    singleActive: fc.boolean(),
    ...(tx ? { txSlots: fc.integer({ min: 0, max: 2 ** SLOTS - 1 }) } : {}),
  });
}

const slot = fc.integer({ min: 0, max: SLOTS - 1 });

/** Commands for `f`; with only priorities (or none) exactly the issue-10 order commands. */
export function orderCmdArbFor(f: OrderFeatures): fc.Arbitrary<OrderCmd> {
  const publish =
    !f.tx && !f.delays
      ? fc.record({
          op: fc.constant('publish' as const),
          group: fc.integer({ min: 0, max: GROUPS }),
          priority: fc.integer({ min: 0, max: 6 }),
        })
      : fc.record({
          op: fc.constant('publish' as const),
          group: fc.integer({ min: 0, max: GROUPS }),
          priority: fc.integer({ min: 0, max: 6 }),
          s: f.tx ? slot : fc.constant(0),
          ...(f.delays ? { delay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })) } : {}),
        });
  // With transactions and delays more takers and settles: most runs should see commits of
  // settles, not only of publishes.
  const more = f.tx || f.delays ? 1 : 0;
  const cmds: fc.WeightedArbitrary<OrderCmd>[] = [
    { weight: 6, arbitrary: publish },
    {
      weight: 2 + more,
      arbitrary: fc.record({
        op: fc.constant('consume' as const),
        s: slot,
        prefetch: fc.integer({ min: 0, max: 3 }),
        noAck: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), s: slot }) },
    {
      weight: 2 + more,
      arbitrary: fc.record({ op: fc.constant('get' as const), s: slot, noAck: fc.boolean() }),
    },
    {
      weight: 4 + more,
      arbitrary: fc.record({
        op: fc.constant('ack' as const),
        s: slot,
        pick: fc.nat(7),
        multiple: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('nack' as const),
        s: slot,
        pick: fc.nat(7),
        multiple: fc.boolean(),
        requeue: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), s: slot }) },
    { weight: 1, arbitrary: restartArb('restart', f.delays) },
  ];
  if (f.tx)
    cmds.push(
      { weight: 3, arbitrary: fc.record({ op: fc.constant('txSelect' as const), s: slot }) },
      { weight: 6, arbitrary: fc.record({ op: fc.constant('commit' as const), s: slot }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('rollback' as const), s: slot }) },
    );
  if (f.delays)
    cmds.push({
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('advance' as const),
        ms: fc.integer({ min: 0, max: 30 }),
      }),
    });
  if (f.crash) cmds.push({ weight: 1, arbitrary: restartArb('crash', f.delays) });
  return fc.oneof(...cmds);
}

function restartArb<Op extends 'restart' | 'crash'>(
  op: Op,
  delays: boolean,
): fc.Arbitrary<{ op: Op; downMs?: number }> {
  if (!delays) return fc.constant({ op });
  return fc.record({ op: fc.constant(op), downMs: fc.integer({ min: 0, max: 40 }) });
}

export const orderCmdArb: fc.Arbitrary<OrderCmd> = orderCmdArbFor({
  priorities: true,
  tx: false,
  delays: false,
  crash: false,
});

interface M {
  id: string;
  /** Its place in the queue's FIFO order: taken when it enters the queue. */
  order: number;
  group: number;
  /** The priority the queue orders it by (clamped to x-max-priority; 0 on a FIFO queue). */
  priority: number;
  /**
   * held: published in a transaction not committed yet; delayed: waiting in the delayed
   * exchange; void: its transaction was rolled back (must never be seen).
   */
  state: 'held' | 'delayed' | 'ready' | 'out' | 'settled' | 'void';
  slot: number;
  tag: number;
  /** Mocked Date.now() it is due at (0: not delayed), and its entry order into the delay store. */
  due: number;
  dseq: number;
  /** Out, and its settle is held by its slot's open transaction. */
  heldSettle: boolean;
}

interface HeldSettle {
  m: M;
  kind: 'ack' | 'reject' | 'requeue';
}

interface Slot {
  session: Session;
  consumers: Consumer[];
  tx: boolean;
  heldPublishes: M[];
  heldSettles: HeldSettle[];
}

class Run {
  private broker!: Broker;
  private slots: Slot[] = [];
  private readonly msgs = new Map<string, M>();
  private readonly all: M[] = [];
  /** Live consumers in subscription order (single active consumer). */
  private subscribed: Consumer[] = [];
  private nextId = 0;
  private nextOrder = 0;
  private nextDseq = 0;
  /** Bumped when a broker is crashed: its sessions' later deliveries are not ours. */
  private generation = 0;
  /** Per group: the message that went out last and is not settled yet (it holds the group). */
  private readonly holders = new Map<number, M>();
  readonly trace: string[] = [];
  settledCount = 0;
  /** What the run exercised (summed into the test's diagnostics). */
  readonly seen: Record<string, number> = {};

  private saw(what: string): void {
    this.seen[what] = (this.seen[what] ?? 0) + 1;
  }

  /** The data dir (a crash moves to its copy); the caller removes the last one. */
  dir: string;
  private readonly policy: OrderPolicy;
  private readonly features: OrderFeatures;
  private readonly t: TestContext;

  constructor(t: TestContext, dir: string, policy: OrderPolicy, features: OrderFeatures) {
    this.t = t;
    this.dir = dir;
    this.policy = policy;
    this.features = features;
  }

  async open(): Promise<void> {
    this.broker = await newBroker({ dataDir: this.dir, segmentSize: 64 * 1024 });
    const boot = this.broker.connect({ user: 'test', trusted: true }).openSession({
      deliver: () => true,
      consumerCancelled: () => {},
    });
    const args: Record<string, unknown> = {};
    if (this.policy.maxPriority !== undefined) args['x-max-priority'] = this.policy.maxPriority;
    if (this.policy.singleActive) args['x-single-active-consumer'] = true;
    boot.declareQueue('q', { durable: true, arguments: args });
    if (this.features.delays) {
      boot.declareExchange('dx', 'x-delayed-message', {
        durable: true,
        arguments: { 'x-delayed-type': 'direct' },
      });
      boot.bind('dx', 'q', 'queue', 'q');
    }
    boot.close();
    this.subscribed = [];
    this.slots = [];
    for (let i = 0; i < SLOTS; i++) this.slots.push(this.newSlot(i));
    // Recovered delayed messages that are due by now go to the queue.
    this.recovering = true;
    this.fireDue();
    this.recovering = false;
  }

  private newSlot(i: number): Slot {
    const tx = ((this.policy.txSlots ?? 0) & (1 << i)) !== 0;
    const session = this.session(i);
    if (tx) session.selectTx();
    return { session, consumers: [], tx, heldPublishes: [], heldSettles: [] };
  }

  private session(i: number): Session {
    const generation = this.generation;
    return this.broker.connect({ user: 'test', trusted: true }).openSession({
      deliver: (consumer, d, tag) => {
        // A crashed broker (closed after its image was taken) is no longer observed.
        if (generation === this.generation) this.onDeliver(i, consumer, d, tag);
        return true;
      },
      consumerCancelled: () => {},
    });
  }

  async close(): Promise<void> {
    await this.broker.close();
  }

  private fail(what: string): never {
    assert.fail(`${what}\n  events:\n    ${this.trace.slice(-40).join('\n    ')}`);
  }

  private check(cond: boolean, what: string): asserts cond {
    if (!cond) this.fail(what);
  }

  private of(m: MessageView): M {
    const r = this.msgs.get(m.body!.toString());
    if (r === undefined) this.fail(`unknown message ${m.body!.toString()}`);
    return r;
  }

  /** Whether `a` comes before `b` in the queue's order. */
  private before(a: M, b: M): boolean {
    return a.priority > b.priority || (a.priority === b.priority && a.order < b.order);
  }

  /** Ungrouped, or the one its group may deliver next. */
  private groupHead(m: M): boolean {
    if (m.group === 0) return true;
    const holder = this.holders.get(m.group);
    if (holder !== undefined) return holder === m && m.state === 'ready';
    for (const o of this.all)
      if (o !== m && o.group === m.group && o.state === 'ready' && this.before(o, m)) return false;
    return true;
  }

  private settled(m: M): void {
    m.state = 'settled';
    this.settledCount++;
    if (this.holders.get(m.group) === m) this.holders.delete(m.group);
  }

  private onDeliver(slot: number, consumer: Consumer | undefined, d: Delivery, tag: number): void {
    const m = this.of(d.message);
    this.trace.push(
      `deliver ${m.id} (g${m.group} p${m.priority}) to s${slot}${consumer === undefined ? ' (get)' : ''}`,
    );
    this.check(
      m.state === 'ready',
      `${m.id} delivered while ${m.state}${m.heldSettle ? ' (settle held by a transaction)' : ''}`,
    );
    this.check(m.due <= Date.now(), `${m.id} delivered before it is due (${m.due})`);
    this.check(
      this.groupHead(m),
      `${m.id} is not the next of group ${m.group} (held by ${this.holders.get(m.group)?.id ?? 'none'})`,
    );
    for (const o of this.all) {
      if (o === m || o.state !== 'ready' || !this.groupHead(o)) continue;
      this.check(
        !this.before(o, m),
        `${m.id} delivered before ${o.id} (g${o.group} p${o.priority})`,
      );
    }
    if (consumer !== undefined && this.policy.singleActive)
      this.check(
        this.subscribed[0] === consumer,
        `single active consumer: delivered to a waiting consumer (s${slot})`,
      );
    this.saw(this.draining ? 'final drain deliveries' : 'deliveries');
    if (m.due !== 0) this.saw('delayed delivered');
    const noAck = consumer?.noAck ?? this.getNoAck;
    if (m.group !== 0) this.holders.set(m.group, m);
    if (noAck) this.settled(m);
    else {
      m.state = 'out';
      m.slot = slot;
      m.tag = tag;
    }
  }

  private getNoAck = false;
  private draining = false;
  private recovering = false;

  /** The slot's session's unacked deliveries (not those a transaction holds the settle of). */
  private unackedOf(slot: number): M[] {
    return this.outOf(slot).filter((m) => !m.heldSettle);
  }

  private outOf(slot: number): M[] {
    return this.all
      .filter((m) => m.state === 'out' && m.slot === slot)
      .sort((a, b) => a.tag - b.tag);
  }

  /** It enters the queue now, or the delay store when it has a due time. */
  private enter(m: M): void {
    if (m.due !== 0) {
      m.state = 'delayed';
      m.dseq = this.nextDseq++;
    } else {
      m.state = 'ready';
      m.order = this.nextOrder++;
    }
  }

  private delayStore(): DelayedMessages | undefined {
    return this.broker.vhost().exchanges.get('dx')?.delayed;
  }

  /**
   * What the delayed exchange's timer does once the clock has passed a due time: due ones go
   * to the queue in (due, entry) order. Its wake-up is a real setTimeout counting real ms
   * while the clock is mocked, so it is run here by hand (a late real one finds nothing due).
   */
  private fireDue(): void {
    if (!this.features.delays) return;
    const now = Date.now();
    const due = this.all
      .filter((m) => m.state === 'delayed' && m.due <= now)
      .sort((a, b) => a.due - b.due || a.dseq - b.dseq);
    if (this.recovering && due.length !== 0) this.saw('due while down');
    for (const m of due) {
      this.trace.push(`due ${m.id} (${m.due})`);
      m.state = 'ready';
      m.order = this.nextOrder++;
    }
    (this.delayStore() as unknown as { drain(): void }).drain();
  }

  private count(state: M['state']): number {
    let n = 0;
    for (const m of this.all) if (m.state === state) n++;
    return n;
  }

  /** The core's counts agree with the oracle (a held settle leaves the message unacked). */
  private checkCounts(): void {
    const q: Queue = this.broker.vhost().getQueue('q', undefined);
    this.check(q.messageCount === this.count('ready'), `queue has ${q.messageCount} ready`);
    this.check(q.unackedCount === this.count('out'), `queue has ${q.unackedCount} unacked`);
    for (let i = 0; i < SLOTS; i++) {
      const want = JSON.stringify(this.unackedOf(i).map((m) => m.tag));
      const have = JSON.stringify([...this.slots[i]!.session.unacked.keys()]);
      this.check(have === want, `s${i} holds tags ${have}, oracle ${want}`);
    }
    if (this.features.delays) {
      const n = this.delayStore()!.messageCount;
      this.check(n === this.count('delayed'), `delayed exchange holds ${n}`);
    }
  }

  async run(c: OrderCmd): Promise<void> {
    this.trace.push(`> ${JSON.stringify(c)}`);
    switch (c.op) {
      case 'publish': {
        const id = `m${this.nextId++}`;
        const max = this.policy.maxPriority;
        const delay = c.delay ?? 0;
        const m: M = {
          id,
          order: -1,
          group: c.group,
          priority: max === undefined ? 0 : Math.min(c.priority, max),
          state: 'ready',
          slot: -1,
          tag: 0,
          due: delay === 0 ? 0 : Date.now() + delay,
          dseq: -1,
          heldSettle: false,
        };
        this.msgs.set(id, m);
        this.all.push(m);
        const headers: Record<string, unknown> = {};
        if (c.group !== 0) headers['x-group-id'] = `g${c.group}`;
        if (c.delay !== undefined) headers['x-delay'] = c.delay;
        const properties = amqpPropertiesCodec.encode({
          deliveryMode: 2,
          priority: c.priority,
          ...(Object.keys(headers).length === 0 ? {} : { headers }),
        });
        const exchange = c.delay === undefined ? '' : 'dx';
        const message = new Message(exchange, 'q', properties, Buffer.from(id), true, c.priority);
        const s = this.slots[c.s ?? 0]!;
        if (s.tx) {
          m.state = 'held';
          s.heldPublishes.push(m);
        } else this.enter(m);
        s.session.publish(exchange, 'q', message);
        break;
      }
      case 'consume': {
        const s = this.slots[c.s]!;
        const consumer = s.session.consume('q', { prefetch: c.prefetch, noAck: c.noAck });
        s.consumers.push(consumer);
        this.subscribed.push(consumer);
        break;
      }
      case 'cancel': {
        const s = this.slots[c.s]!;
        const consumer = s.consumers.shift();
        if (consumer === undefined) break;
        this.subscribed = this.subscribed.filter((x) => x !== consumer);
        s.session.cancel(consumer.tag);
        break;
      }
      case 'get': {
        this.getNoAck = c.noAck;
        const d = this.slots[c.s]!.session.get('q', c.noAck);
        if (d !== undefined) this.onDeliver(c.s, undefined, d, d.tag);
        break;
      }
      case 'ack':
      case 'nack': {
        const held = this.unackedOf(c.s);
        if (held.length === 0) break;
        const target = held[c.pick % held.length]!;
        const done = c.multiple ? held.filter((m) => m.tag <= target.tag) : [target];
        const s = this.slots[c.s]!;
        const session = s.session;
        const requeue = c.op === 'nack' && c.requeue;
        // State first: the requeue's drain runs in a later microtask and checks it.
        for (const m of done) {
          if (s.tx) {
            // Held: still out (unacked) in the queue until commit, gone from the session.
            m.heldSettle = true;
            this.saw('settles held');
            s.heldSettles.push({
              m,
              kind: c.op === 'ack' ? 'ack' : requeue ? 'requeue' : 'reject',
            });
          } else if (requeue) m.state = 'ready';
          else this.settled(m);
        }
        if (c.op === 'ack') session.ack(target.tag, c.multiple);
        else session.nack(target.tag, c.multiple, c.requeue);
        break;
      }
      case 'close':
        this.closeSlot(c.s);
        break;
      case 'restart': {
        for (let i = 0; i < SLOTS; i++) this.closeSlot(i);
        await settle();
        await this.broker.close();
        this.down(c.downMs);
        // A new broker knows nothing of who held a group: recovered in queue order.
        this.holders.clear();
        await this.open();
        break;
      }
      case 'crash':
        await this.crash(c.downMs);
        break;
      case 'txSelect': {
        const s = this.slots[c.s]!;
        s.tx = true;
        s.session.selectTx();
        break;
      }
      case 'commit': {
        const s = this.slots[c.s]!;
        if (!s.tx) break;
        if (s.heldPublishes.length + s.heldSettles.length !== 0) this.saw('commits');
        for (const m of s.heldPublishes) this.saw(m.due === 0 ? 'tx publishes' : 'tx delayed');
        for (const h of s.heldSettles) this.saw(`tx ${h.kind}s`);
        // State first, in the order the commit applies them: publishes, then settles.
        for (const m of s.heldPublishes) this.enter(m);
        for (const h of s.heldSettles) {
          h.m.heldSettle = false;
          if (h.kind === 'requeue') h.m.state = 'ready';
          else this.settled(h.m);
        }
        s.heldPublishes = [];
        s.heldSettles = [];
        const done = new Promise<Error | undefined>((resolve) => s.session.commitTx(resolve));
        // Delayed publishes of the commit already due go on to the queue now.
        this.fireDue();
        const err = await done;
        this.check(err === undefined, `commit failed: ${String(err)}`);
        break;
      }
      case 'rollback': {
        const s = this.slots[c.s]!;
        if (!s.tx) break;
        this.rollback(s);
        s.session.rollbackTx();
        break;
      }
      case 'advance':
        this.t.mock.timers.tick(c.ms);
        this.fireDue();
        break;
    }
    await settle();
    this.checkCounts();
  }

  /** The held publishes are never to be seen; the held settles' deliveries are unacked again. */
  private rollback(s: Slot): void {
    if (s.heldPublishes.length + s.heldSettles.length !== 0) this.saw('rollbacks (or closes)');
    for (const m of s.heldPublishes) m.state = 'void';
    for (const h of s.heldSettles) h.m.heldSettle = false;
    s.heldPublishes = [];
    s.heldSettles = [];
  }

  private closeSlot(i: number): void {
    const s = this.slots[i]!;
    // An open transaction is rolled back, then everything the session holds is requeued.
    this.rollback(s);
    for (const m of this.outOf(i)) m.state = 'ready';
    this.subscribed = this.subscribed.filter((x) => !s.consumers.includes(x));
    s.session.close();
    this.slots[i] = this.newSlot(i);
  }

  /**
   * Kill the broker as a crash would: once everything so far is durable, copy its data dir
   * while it runs (no clean seal, sessions still open; the lock file left out as a dead
   * process's would be taken over), then recover a new broker from the copy. The old one is
   * closed unobserved: what its closing does lands in the old dir only.
   */
  /** The clock runs on while no broker is up: what falls due goes out once one recovers. */
  private down(ms: number | undefined): void {
    if (ms !== undefined && ms !== 0) this.t.mock.timers.tick(ms);
  }

  private async crash(downMs: number | undefined): Promise<void> {
    this.saw('crashes');
    if (this.count('delayed') !== 0) this.saw('crashes with delayed');
    await synced(this.broker);
    const image = crashImage(this.dir);
    this.generation++;
    for (let i = 0; i < SLOTS; i++) {
      this.rollback(this.slots[i]!);
      for (const m of this.outOf(i)) m.state = 'ready';
    }
    await this.broker.close();
    rmSync(this.dir, { recursive: true, force: true });
    this.dir = image;
    this.down(downMs);
    this.holders.clear();
    await this.open();
  }

  /** Everything still queued comes out, one by one, each settled once. */
  async finish(): Promise<void> {
    for (let i = 0; i < SLOTS; i++) this.closeSlot(i);
    await settle();
    this.checkCounts();
    if (this.features.delays) {
      // Past every due time: the pending delayed messages come out too.
      await this.run({ op: 'advance', ms: 100 });
      this.check(this.count('delayed') === 0, 'delayed messages still pending');
    }
    this.trace.push('> final drain');
    this.draining = true;
    for (;;) {
      const ready = this.all.filter((m) => m.state === 'ready');
      if (ready.length === 0) break;
      const before = this.settledCount;
      await this.run({ op: 'get', s: 0, noAck: true });
      if (this.settledCount === before)
        this.fail(`get found nothing while ${ready.map((m) => m.id).join(' ')} are ready`);
    }
    this.check(
      this.all.every((m) => m.state === 'settled' || m.state === 'void'),
      'a message is out with no session',
    );
    this.seen['messages'] = this.all.length;
    this.seen['void'] = this.count('void');
    this.check(
      this.settledCount === this.all.length - this.count('void'),
      'a message was settled twice',
    );
  }
}

/**
 * A copy of a running broker's data dir, as a crash leaves it. Sealed segments only ever go
 * away (the reclaimer unlinks them on the thread pool while this copies): a copy that lost
 * one under it starts over. What it copies is a crash image still: each file is at some
 * instant, and a later segment supersedes whatever an older one still holds.
 */
function crashImage(dir: string): string {
  for (let attempt = 0; ; attempt++) {
    const image = mkdtempSync(join(tmpdir(), 'baton-order-crash-'));
    try {
      cpSync(dir, image, { recursive: true, filter: (src) => !src.endsWith(`/${LOCK_FILE}`) });
      return image;
    } catch (err) {
      rmSync(image, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 20) throw err;
    }
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await tick();
}

export async function checkOrder(
  t: TestContext,
  numRuns: number,
  features: OrderFeatures,
  maxCommands = 50,
): Promise<{ runs: number; commands: number; seen: Record<string, number> }> {
  // The delayed exchange's due times are Date.now() ones: the clock moves only by `advance`.
  if (features.delays) t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const stats = { runs: 0, commands: 0, seen: {} as Record<string, number> };
  const seed = process.env.BATON_PROP_SEED;
  const path = process.env.BATON_PROP_PATH;
  await fc.assert(
    fc.asyncProperty(
      orderPolicyArb(features.priorities, features.tx),
      fc.array(orderCmdArbFor(features), { minLength: 1, maxLength: maxCommands, size: 'max' }),
      async (policy, cmds) => {
        const run = new Run(t, mkdtempSync(join(tmpdir(), 'baton-order-')), policy, features);
        try {
          await run.open();
          for (const c of cmds) await run.run(c);
          await run.finish();
          stats.runs++;
          stats.commands += cmds.length;
          for (const [k, n] of Object.entries(run.seen)) stats.seen[k] = (stats.seen[k] ?? 0) + n;
        } finally {
          await run.close();
          rmSync(run.dir, { recursive: true, force: true });
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
