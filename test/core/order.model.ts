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
 * At the end every message has been settled exactly once.
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
import type { Session } from '../../src/core/session.js';
import { amqpPropertiesCodec } from '../../src/protocol/amqp/properties-codec.js';
import { newBroker, tick } from '../helpers/core.js';

export interface OrderPolicy {
  /** x-max-priority, undefined for a FIFO queue. */
  maxPriority: number | undefined;
  singleActive: boolean;
}

export type OrderCmd =
  | { op: 'publish'; group: number; priority: number }
  | { op: 'consume'; s: number; prefetch: number; noAck: boolean }
  | { op: 'cancel'; s: number }
  | { op: 'get'; s: number; noAck: boolean }
  | { op: 'ack'; s: number; pick: number; multiple: boolean }
  | { op: 'nack'; s: number; pick: number; multiple: boolean; requeue: boolean }
  | { op: 'close'; s: number }
  | { op: 'restart' };

const SLOTS = 3;
/** Group 0 is "no group". */
const GROUPS = 3;

export function orderPolicyArb(priorities: boolean): fc.Arbitrary<OrderPolicy> {
  return fc.record({
    maxPriority: priorities
      ? fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined })
      : fc.constant(undefined),
    singleActive: fc.boolean(),
  });
}

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
export const orderCmdArb: fc.Arbitrary<OrderCmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('publish' as const),
      group: fc.integer({ min: 0, max: GROUPS }),
      priority: fc.integer({ min: 0, max: 6 }),
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
    weight: 4,
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
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
);

interface M {
  id: string;
  order: number;
  group: number;
  /** The priority the queue orders it by (clamped to x-max-priority; 0 on a FIFO queue). */
  priority: number;
  state: 'ready' | 'out' | 'settled';
  slot: number;
  tag: number;
}

interface Slot {
  session: Session;
  consumers: Consumer[];
}

class Run {
  private broker!: Broker;
  private slots: Slot[] = [];
  private readonly msgs = new Map<string, M>();
  private readonly all: M[] = [];
  /** Live consumers in subscription order (single active consumer). */
  private subscribed: Consumer[] = [];
  private nextId = 0;
  /** Per group: the message that went out last and is not settled yet (it holds the group). */
  private readonly holders = new Map<number, M>();
  readonly trace: string[] = [];
  settledCount = 0;

  private readonly dir: string;
  private readonly policy: OrderPolicy;

  constructor(dir: string, policy: OrderPolicy) {
    this.dir = dir;
    this.policy = policy;
  }

  async open(): Promise<void> {
    this.broker = await newBroker({ dataDir: this.dir, segmentSize: 64 * 1024 });
    const boot = this.broker.connect({ user: 'test' }).openSession({
      deliver: () => true,
      consumerCancelled: () => {},
    });
    const args: Record<string, unknown> = {};
    if (this.policy.maxPriority !== undefined) args['x-max-priority'] = this.policy.maxPriority;
    if (this.policy.singleActive) args['x-single-active-consumer'] = true;
    boot.declareQueue('q', { durable: true, arguments: args });
    boot.close();
    this.subscribed = [];
    this.slots = [];
    for (let i = 0; i < SLOTS; i++) this.slots.push({ session: this.session(i), consumers: [] });
  }

  private session(i: number): Session {
    return this.broker.connect({ user: 'test' }).openSession({
      deliver: (consumer, d, tag) => {
        this.onDeliver(i, consumer, d, tag);
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
    this.check(m.state === 'ready', `${m.id} delivered while ${m.state}`);
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

  private unackedOf(slot: number): M[] {
    return this.all
      .filter((m) => m.state === 'out' && m.slot === slot)
      .sort((a, b) => a.tag - b.tag);
  }

  async run(c: OrderCmd): Promise<void> {
    this.trace.push(`> ${JSON.stringify(c)}`);
    switch (c.op) {
      case 'publish': {
        const id = `m${this.nextId++}`;
        const max = this.policy.maxPriority;
        const m: M = {
          id,
          order: this.nextId,
          group: c.group,
          priority: max === undefined ? 0 : Math.min(c.priority, max),
          state: 'ready',
          slot: -1,
          tag: 0,
        };
        this.msgs.set(id, m);
        this.all.push(m);
        const properties = amqpPropertiesCodec.encode({
          deliveryMode: 2,
          priority: c.priority,
          ...(c.group === 0 ? {} : { headers: { 'x-group-id': `g${c.group}` } }),
        });
        const message = new Message('', 'q', properties, Buffer.from(id), true, c.priority);
        this.slots[0]!.session.publish('', 'q', message);
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
        const session = this.slots[c.s]!.session;
        const requeue = c.op === 'nack' && c.requeue;
        // State first: the requeue's drain runs in a later microtask and checks it.
        for (const m of done) {
          if (requeue) m.state = 'ready';
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
        // A new broker knows nothing of who held a group: recovered in queue order.
        this.holders.clear();
        await this.open();
        break;
      }
    }
    await settle();
  }

  private closeSlot(i: number): void {
    const s = this.slots[i]!;
    for (const m of this.unackedOf(i)) m.state = 'ready';
    this.subscribed = this.subscribed.filter((x) => !s.consumers.includes(x));
    s.session.close();
    this.slots[i] = { session: this.session(i), consumers: [] };
  }

  /** Everything still queued comes out, one by one, each settled once. */
  async finish(): Promise<void> {
    for (let i = 0; i < SLOTS; i++) this.closeSlot(i);
    await settle();
    this.trace.push('> final drain');
    for (;;) {
      const ready = this.all.filter((m) => m.state === 'ready');
      if (ready.length === 0) break;
      const before = this.settledCount;
      await this.run({ op: 'get', s: 0, noAck: true });
      if (this.settledCount === before)
        this.fail(`get found nothing while ${ready.map((m) => m.id).join(' ')} are ready`);
    }
    this.check(
      this.all.every((m) => m.state === 'settled'),
      'a message is out with no session',
    );
    this.check(this.settledCount === this.all.length, 'a message was settled twice');
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await tick();
}

export async function checkOrder(
  t: TestContext,
  numRuns: number,
  priorities: boolean,
  maxCommands = 50,
): Promise<{ runs: number; commands: number }> {
  const stats = { runs: 0, commands: 0 };
  const seed = process.env.BATON_PROP_SEED;
  const path = process.env.BATON_PROP_PATH;
  await fc.assert(
    fc.asyncProperty(
      orderPolicyArb(priorities),
      fc.array(orderCmdArb, { minLength: 1, maxLength: maxCommands, size: 'max' }),
      async (policy, cmds) => {
        const dir = mkdtempSync(join(tmpdir(), 'baton-order-'));
        const run = new Run(dir, policy);
        try {
          await run.open();
          for (const c of cmds) await run.run(c);
          await run.finish();
          stats.runs++;
          stats.commands += cmds.length;
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
  void t;
  return stats;
}
