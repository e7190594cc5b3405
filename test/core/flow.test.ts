import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import {
  EXPIRY_LAG_HIGH,
  FLOW_ACTIVE_MS,
  FLOW_HIGH,
  FLOW_LOW,
  FLOW_PAUSE_SLOW_MS,
} from '../../src/core/flow.js';
import type { Broker } from '../../src/core/broker.js';
import type { Queue } from '../../src/core/queue.js';
import { collectingSession, eventually, hmsg, msg, openBroker, tick } from '../helpers/core.js';

/** A collecting session whose connection records each flow-control pause (true) and release. */
function flowSession(broker: Broker): ReturnType<typeof collectingSession> & { flow: boolean[] } {
  const s = collectingSession(broker);
  const flow: boolean[] = [];
  s.session.connection.onFlow = (blocked) => flow.push(blocked);
  return { ...s, flow };
}

/**
 * A consumer of `consumeFrom` acks once (so it is active), a publisher to `publishTo` outruns it
 * and must be throttled by `congested`, then released as the consumer catches up.
 */
async function outrunActiveConsumer(
  broker: Broker,
  publishTo: string,
  consumeFrom: string,
  congested: Queue,
): Promise<void> {
  const consumer = collectingSession(broker);
  const producer = flowSession(broker);
  const flow = producer.flow;
  consumer.session.consume(consumeFrom, { prefetch: 10 });
  producer.session.publish('', publishTo, msg('first', false));
  await tick();
  assert.equal(consumer.received.length, 1);
  consumer.session.ack(0, true);
  for (let i = 0; i < FLOW_HIGH + 100; i++)
    producer.session.publish('', publishTo, msg(`m${i}`, false));
  assert.deepEqual(flow, [true]);
  assert.equal(producer.session.connection.throttledBy, congested);
  // The consumer catches up: the publisher is let go.
  await eventually(async () => {
    consumer.session.ack(0, true);
    consumer.received.length = 0;
    await tick();
    assert.deepEqual(flow, [true, false]);
  });
  assert.equal(producer.session.connection.throttledBy, undefined);
}

void test('flow control: a publisher outrunning active consumers is paused, then released', async (t) => {
  const { broker } = await openBroker(t);
  const q = broker.vhost().declareQueue('q', {}, undefined);
  await outrunActiveConsumer(broker, 'q', 'q', q);
});

void test('flow control: a no-ack consumer whose transport is full throttles publishers, then releases them', async (t) => {
  const { broker } = await openBroker(t);
  const q = broker.vhost().declareQueue('q', {}, undefined);
  // A socket that takes 10 deliveries, then reports full until drained.
  let room = 10;
  let taken = 0;
  const connection = broker.connect({ user: 'test', trusted: true });
  const session = connection.openSession({
    deliver() {
      taken++;
      return --room > 0;
    },
    consumerCancelled() {},
  });
  const consumer = session.consume('q', { noAck: true });
  const producer = flowSession(broker);
  const flow = producer.flow;
  producer.session.publish('', 'q', msg('first', false));
  await tick();
  assert.equal(taken, 1);
  for (let i = 0; i < FLOW_HIGH + 100; i++) producer.session.publish('', 'q', msg(`m${i}`, false));
  await tick();
  assert.equal(taken, 10);
  assert.deepEqual(flow, [true]);
  assert.equal(producer.session.connection.throttledBy, q);
  // The transport drains: deliveries go on and the publisher is let go.
  room = Infinity;
  consumer.resume();
  await eventually(async () => {
    await tick();
    assert.deepEqual(flow, [true, false]);
    assert.equal(taken, FLOW_HIGH + 101);
  });
});

void test('flow control: messages set aside behind a busy group count as backlog', async (t) => {
  const { broker } = await openBroker(t);
  const q = broker.vhost().declareQueue('q', {}, undefined);
  const consumer = collectingSession(broker);
  const producer = flowSession(broker);
  const flow = producer.flow;
  consumer.session.consume('q', { prefetch: 10 });
  producer.session.publish('', 'q', hmsg('first', { 'x-group-id': 'G' }, false));
  await tick();
  consumer.session.ack(0, true);
  // One group: one message out at a time, the rest set aside, not in the ready list.
  for (let i = 0; i < FLOW_HIGH + 100; i++) {
    producer.session.publish('', 'q', hmsg(`m${i}`, { 'x-group-id': 'G' }, false));
    if (i % 50 === 0) await tick();
  }
  assert.deepEqual(flow, [true]);
  assert.equal(producer.session.connection.throttledBy, q);
  await eventually(async () => {
    consumer.session.ack(0, true);
    await tick();
    assert.deepEqual(flow, [true, false]);
  });
});

void test('flow control: a stuck consumer (no acks) or no consumer never blocks publishers', async (t) => {
  const { broker } = await openBroker(t);
  const consumer = collectingSession(broker);
  const producer = flowSession(broker);
  const flow = producer.flow;
  broker.vhost().declareQueue('idle', {}, undefined);
  broker.vhost().declareQueue('stuck', {}, undefined);
  consumer.session.consume('stuck', { prefetch: 1 });
  for (let i = 0; i < FLOW_HIGH * 2; i++) {
    producer.session.publish('', 'idle', msg(`i${i}`, false));
    producer.session.publish('', 'stuck', msg(`s${i}`, false));
  }
  await tick();
  assert.deepEqual(flow, []);
});

void test('flow control: a consumer given deliveries it has not acked yet throttles a publisher that outruns it, until it goes quiet', async (t) => {
  const { broker } = await openBroker(t);
  const q = broker.vhost().declareQueue('q', {}, undefined);
  const consumer = collectingSession(broker);
  const producer = flowSession(broker);
  const flow = producer.flow;
  consumer.session.consume('q', { prefetch: 10 });
  producer.session.publish('', 'q', msg('first', false));
  await tick();
  // Its first delivery is out, no ack yet (a client busy publishing from the same process).
  assert.equal(consumer.received.length, 1);
  for (let i = 0; i < FLOW_HIGH + 100; i++) producer.session.publish('', 'q', msg(`m${i}`, false));
  assert.deepEqual(flow, [true]);
  assert.equal(producer.session.connection.throttledBy, q);
  // It never acks: once its last delivery is older than the active window, the backlog is what
  // the queue is for, and the publisher is let go.
  await eventually(() => assert.deepEqual(flow, [true, false]));
  assert.ok(consumer.received.length <= 10);
});

void test('flow control: consumers far slower than their publisher stop pacing it, until the queue is down to FLOW_LOW', async (t) => {
  const { broker } = await openBroker(t);
  const q = broker.vhost().declareQueue('q', {}, undefined);
  const consumer = collectingSession(broker);
  const producer = flowSession(broker);
  const flow = producer.flow;
  const conn = producer.session.connection;
  const prefetch = 300;
  consumer.session.consume('q', { prefetch });
  let n = 0;
  /** Publishes until held (true) or `max` more went in unheld (false). */
  const publishUntilHeld = (max: number): boolean => {
    for (let i = 0; i < max && conn.throttledBy === undefined; i++)
      producer.session.publish('', 'q', msg(`m${n++}`, false));
    return conn.throttledBy !== undefined;
  };
  /** The consumer settles everything it holds and takes the next deliveries. */
  const settle = async (): Promise<void> => {
    consumer.session.ack(0, true);
    consumer.received.length = 0;
    await eventually(async () => {
      await tick();
      assert.equal(consumer.received.length, Math.min(prefetch, n - prefetch));
    });
  };
  producer.session.publish('', 'q', msg(`m${n++}`, false));
  await tick();
  // A worker that takes a pause's worth only every 2.5 × FLOW_PAUSE_SLOW_MS: each pause holds
  // the publisher that long, until the average says pacing does not pay (after about 4).
  let pauses = 0;
  while (publishUntilHeld(10 * FLOW_HIGH)) {
    pauses++;
    assert.ok(pauses < 20, 'still pacing a consumer far slower than its publisher');
    await new Promise((r) => setTimeout(r, FLOW_PAUSE_SLOW_MS * 2.5));
    await settle();
    assert.equal(conn.throttledBy, undefined);
  }
  assert.ok(q.waitingCount() > 5 * FLOW_HIGH, 'the queue takes the backlog');
  assert.deepEqual(flow, Array.from({ length: pauses }, () => [true, false]).flat());
  // Once the consumer has caught up to FLOW_LOW, the next backlog is paced again.
  while (q.waitingCount() > FLOW_LOW) await settle();
  assert.ok(publishUntilHeld(10 * FLOW_HIGH), 'a fresh backlog is paced again');
});

void test('flow control: a pause that consumers far too slow for a big backlog would never end is ended by the queue', async (t) => {
  const { broker } = await openBroker(t);
  const q = broker.vhost().declareQueue('q', {}, undefined);
  const producer = flowSession(broker);
  const conn = producer.session.connection;
  // A backlog from before anyone consumed: nothing throttles it.
  for (let i = 0; i < 6 * FLOW_HIGH; i++) producer.session.publish('', 'q', msg(`m${i}`, false));
  assert.deepEqual(producer.flow, []);
  // A worker that settles one message every 50 ms: active, but it would take minutes to bring
  // the backlog down to FLOW_LOW.
  const consumer = collectingSession(broker);
  consumer.session.consume('q', { prefetch: 1 });
  const worker = setInterval(() => consumer.session.ack(0, true), 50);
  t.after(() => clearInterval(worker));
  await tick();
  producer.session.publish('', 'q', msg('held', false));
  assert.equal(conn.throttledBy, q);
  await eventually(() => assert.deepEqual(producer.flow, [true, false]));
  // The queue takes the backlog now: more publishes are not held.
  for (let i = 0; i < FLOW_HIGH; i++) producer.session.publish('', 'q', msg(`n${i}`, false));
  assert.equal(conn.throttledBy, undefined);
  assert.ok(q.waitingCount() > 6 * FLOW_HIGH);
});

void test('flow control: a publish that reaches no congested queue never throttles', async (t) => {
  const { broker } = await openBroker(t);
  const consumer = collectingSession(broker);
  const busy = collectingSession(broker);
  const other = flowSession(broker);
  const flow = other.flow;
  broker.vhost().declareQueue('q', {}, undefined);
  consumer.session.consume('q', { prefetch: 10 });
  busy.session.publish('', 'q', msg('first', false));
  await tick();
  consumer.session.ack(0, true);
  for (let i = 0; i < FLOW_HIGH + 10; i++) busy.session.publish('', 'q', msg(`m${i}`, false));
  assert.equal(busy.session.connection.throttledBy !== undefined, true);
  // Unroutable publishes from another connection must not inherit the congestion.
  other.session.publish('', 'no-such-queue', msg('x', false));
  other.session.publish('amq.fanout', '', msg('y', false));
  assert.deepEqual(flow, []);
  busy.session.connection.close();
  assert.equal(busy.session.connection.throttledBy, undefined);
});

void test('flow control: consumers whose last ack is older than the active window never throttle', async (t) => {
  const { broker } = await openBroker(t);
  const consumer = collectingSession(broker);
  const producer = flowSession(broker);
  const flow = producer.flow;
  broker.vhost().declareQueue('q', {}, undefined);
  consumer.session.consume('q', { prefetch: 10 });
  producer.session.publish('', 'q', msg('first', false));
  await tick();
  // The ack's time is taken by the drain it schedules, not when the next publish looks.
  consumer.session.ack(0, true);
  await tick();
  await new Promise((r) => setTimeout(r, FLOW_ACTIVE_MS * 2));
  for (let i = 0; i < FLOW_HIGH + 100; i++) producer.session.publish('', 'q', msg(`m${i}`, false));
  assert.deepEqual(flow, []);
});

/** Queue `src` dead-letters into `dlq`; TTL 0 and no consumer: every message, as it arrives. */
function declareDeadLettering(broker: Broker): Queue {
  const vhost = broker.vhost();
  vhost.declareQueue(
    'src',
    {
      arguments: {
        'x-message-ttl': 0,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': 'dlq',
      },
    },
    undefined,
  );
  return vhost.declareQueue('dlq', {}, undefined);
}

void test('flow control: a dead-letter queue whose consumers fall behind throttles the publishers of its source', async (t) => {
  const { broker } = await openBroker(t);
  const dlq = declareDeadLettering(broker);
  await outrunActiveConsumer(broker, 'src', 'dlq', dlq);
});

void test('flow control: a dead-letter queue without consumers never throttles the source', async (t) => {
  const { broker } = await openBroker(t);
  const producer = flowSession(broker);
  const flow = producer.flow;
  const dlq = declareDeadLettering(broker);
  for (let i = 0; i < FLOW_HIGH * 2; i++) producer.session.publish('', 'src', msg(`m${i}`, false));
  await tick();
  assert.equal(dlq.messageCount, FLOW_HIGH * 2);
  assert.deepEqual(flow, []);
});

void test('flow control: a queue whose expiry falls behind throttles its publishers until it catches up', async (t) => {
  const { broker } = await openBroker(t);
  const producer = flowSession(broker);
  const flow = producer.flow;
  const q = broker.vhost().declareQueue('q', { arguments: { 'x-message-ttl': 5 } }, undefined);
  producer.session.publish('', 'q', msg('old', false));
  // The broker's thread is busy past the head's expiry by more than the lag allowed.
  const until = Date.now() + 5 + EXPIRY_LAG_HIGH * 2;
  while (Date.now() < until);
  producer.session.publish('', 'q', msg('new', false));
  assert.deepEqual(flow, [true]);
  assert.equal(producer.session.connection.throttledBy, q);
  // The expiry timer runs: both expire and the publisher is let go.
  await eventually(() => {
    assert.deepEqual(flow, [true, false]);
    assert.equal(q.messageCount, 0);
  });
});

/**
 * `src` (x-message-ttl `ttl`) dead-letters into `dlq`, whose consumer acks all it holds
 * (prefetch 100) every millisecond or so: tens of thousands a second, slower than a publisher
 * that sends hundreds on every turn of the event loop.
 */
function ttlPipeline(
  t: TestContext,
  broker: Broker,
  ttl: number,
  consumer = collectingSession(broker),
): { src: Queue; dlq: Queue } {
  const vhost = broker.vhost();
  const src = vhost.declareQueue(
    'src',
    {
      arguments: {
        'x-message-ttl': ttl,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': 'dlq',
      },
    },
    undefined,
  );
  const dlq = vhost.declareQueue('dlq', {}, undefined);
  consumer.session.consume('dlq', { prefetch: 100 });
  let stopped = false;
  const ack = (): void => {
    if (stopped) return;
    if (consumer.received.length !== 0) {
      consumer.session.ack(0, true);
      consumer.received.length = 0;
    }
    setTimeout(ack, 1);
  };
  ack();
  t.after(() => (stopped = true));
  return { src, dlq };
}

void test('flow control: a TTL queue feeding a busy dead-letter queue holds its own publishers, for both backlogs together', async (t) => {
  const { broker } = await openBroker(t);
  const { src, dlq } = ttlPipeline(t, broker, 50);
  const producer = flowSession(broker);
  const conn = producer.session.connection;
  // Who held the publisher, and how many messages the TTL queue held then.
  const holds: { by: string | undefined; held: number }[] = [];
  conn.onFlow = (blocked) => {
    if (blocked) holds.push({ by: conn.throttledBy?.name, held: src.messageCount });
  };
  // Bursts bigger than a turn's acks, for as long as the publisher is let go; small enough
  // that expiry never lags (which would hold the publisher for another reason). Until the
  // DLQ's pace is known, the DLQ holds it, as for any congested target.
  let sent = 0;
  await eventually(async () => {
    for (let turn = 0; turn < 100; turn++) {
      for (let i = 0; i < 300 && conn.throttledBy === undefined; i++)
        producer.session.publish('', 'src', msg(`m${sent++}`, false));
      await tick();
    }
    assert.ok(
      holds.some((h) => h.by === 'src'),
      `held by ${holds.map((h) => h.by).join(', ')}`,
    );
  });
  // Held with messages on their way: the DLQ alone could not say when to let the publisher go
  // (it held it until the DLQ had caught up, then its consumer starved for a TTL).
  for (const h of holds) if (h.by === 'src') assert.ok(h.held > 0);
  await eventually(() =>
    assert.equal(
      conn.throttledBy?.name,
      undefined,
      `src ${src.messageCount} dlq ${dlq.messageCount} unacked ${dlq.unackedCount} consumers ${dlq.consumers.length}`,
    ),
  );
  await eventually(() => assert.equal(src.messageCount + dlq.messageCount, 0));
});

for (const ttl of [0, 50])
  void test(`flow control: a connection that consumes the dead-letter queue of a TTL ${ttl} ms queue is never throttled for it`, async (t) => {
    const { broker } = await openBroker(t);
    const both = flowSession(broker);
    ttlPipeline(t, broker, ttl, both);
    // Its acks are what would release it: pausing its socket would stall it for good.
    // For several TTLs, as in the test above (where the publisher is held).
    const until = Date.now() + 500;
    while (Date.now() < until) {
      for (let i = 0; i < 300; i++) both.session.publish('', 'src', msg(`m${i}`, false));
      await tick();
    }
    assert.deepEqual(both.flow, []);
  });

void test('flow control: a connection that consumes the congested dead-letter queue is never throttled by it', async (t) => {
  const { broker } = await openBroker(t);
  declareDeadLettering(broker);
  const both = flowSession(broker);
  const flow = both.flow;
  both.session.consume('dlq', { prefetch: 10 });
  both.session.publish('', 'src', msg('first', false));
  await tick();
  both.session.ack(0, true);
  // Its acks are what would release it: pausing its socket would stall it for good.
  for (let i = 0; i < FLOW_HIGH + 100; i++) both.session.publish('', 'src', msg(`m${i}`, false));
  assert.deepEqual(flow, []);
});
