import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectingSession, msg, openBroker, synced, tick, until } from '../helpers/core.js';

void test('FIFO: one consumer receives messages in publish order', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  session.vhost.declareQueue('q', { durable: true }, session.connection);
  for (let i = 0; i < 1000; i++) session.publish('', 'q', msg(`m${i}`));
  session.consume('q', { noAck: true });
  await tick();
  await tick();
  assert.deepEqual(
    received.map((r) => r.body),
    Array.from({ length: 1000 }, (_, i) => `m${i}`),
  );
});

void test('competing consumers: 4 consumers x 10,000 messages, each delivered exactly once', async (t) => {
  const { broker } = await openBroker(t, { segmentSize: 1024 * 1024 });
  const sessions = [0, 1, 2, 3].map(() => collectingSession(broker));
  const vhost = broker.vhost();
  vhost.declareQueue('work', { durable: true }, undefined);
  for (const { session } of sessions) session.consume('work', { prefetch: 10 });
  const producer = collectingSession(broker).session;
  const N = 40_000;
  const seen = new Map<string, number>();
  const perConsumer = [0, 0, 0, 0];
  let acked = 0;
  const ackAll = (): void => {
    sessions.forEach(({ session, received }, i) => {
      for (const r of received.splice(0)) {
        seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
        session.ack(r.tag, false);
        perConsumer[i]!++;
        acked++;
      }
    });
  };
  for (let i = 0; i < N; i++) {
    producer.publish('', 'work', msg(String(i)));
    if (i % 500 === 0) {
      await tick();
      ackAll();
    }
  }
  while (acked < N) {
    await tick();
    ackAll();
  }
  assert.equal(seen.size, N);
  for (const [, n] of seen) assert.equal(n, 1);
  assert.equal(vhost.getQueue('work', undefined).messageCount, 0);
  // Round robin among consumers with credit: everyone got a real share.
  for (const n of perConsumer) assert.ok(n > N / 8, `uneven shares ${perConsumer.join(',')}`);
});

void test('prefetch: a consumer never holds more unacked deliveries than its prefetch', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  session.vhost.declareQueue('q', {}, undefined);
  for (let i = 0; i < 50; i++) session.publish('', 'q', msg(`m${i}`, false));
  session.consume('q', { prefetch: 7 });
  await tick();
  assert.equal(received.length, 7);
  session.ack(received[2]!.tag, false);
  await tick();
  assert.equal(received.length, 8);
  session.ack(received[7]!.tag, true); // multiple: everything up to the 8th
  await tick();
  assert.equal(received.length, 15);
  assert.equal(session.unackedCount, 7);
});

void test('channel-wide prefetch (global) is shared by every consumer of the session', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  session.vhost.declareQueue('a', {}, undefined);
  session.vhost.declareQueue('b', {}, undefined);
  for (let i = 0; i < 20; i++) {
    session.publish('', 'a', msg(`a${i}`, false));
    session.publish('', 'b', msg(`b${i}`, false));
  }
  session.prefetch = 5;
  session.consume('a');
  session.consume('b');
  await tick();
  assert.equal(received.length, 5);
  session.ack(0, true);
  await tick();
  assert.equal(received.length, 10);
});

void test('nack with requeue restores the original position and sets redelivered', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  session.vhost.declareQueue('q', {}, undefined);
  for (let i = 0; i < 5; i++) session.publish('', 'q', msg(`m${i}`));
  const c = session.consume('q', { prefetch: 3 });
  await tick();
  assert.deepEqual(
    received.map((r) => r.body),
    ['m0', 'm1', 'm2'],
  );
  session.cancel(c.tag);
  session.nack(received[1]!.tag, false, true); // m1 back
  session.nack(received[0]!.tag, false, true); // m0 back
  received.length = 0;
  const { session: s2, received: r2 } = collectingSession(broker);
  s2.consume('q', { noAck: true });
  await tick();
  assert.deepEqual(
    r2.map((r) => r.body),
    ['m0', 'm1', 'm3', 'm4'],
  );
  assert.deepEqual(
    r2.map((r) => r.redelivered),
    [true, true, false, false],
  );
  assert.equal(r2[0]!.entry.deliveryCount, 2);
});

void test('nack without requeue drops the message; unknown tags are a precondition failure', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  const q = session.vhost.declareQueue('q', {}, undefined);
  session.publish('', 'q', msg('x'));
  session.consume('q');
  await tick();
  session.nack(received[0]!.tag, false, false);
  assert.equal(q.messageCount, 0);
  assert.throws(() => session.ack(received[0]!.tag, false), { replyCode: 406 });
  assert.throws(() => session.ack(999, true), { replyCode: 406 });
});

void test('closing a session requeues its unacked deliveries in order', async (t) => {
  const { broker } = await openBroker(t);
  const a = collectingSession(broker);
  a.session.vhost.declareQueue('q', {}, undefined);
  for (let i = 0; i < 10; i++) a.session.publish('', 'q', msg(`m${i}`));
  a.session.consume('q', { prefetch: 4 });
  await tick();
  assert.equal(a.received.length, 4);
  a.session.ack(a.received[1]!.tag, false);
  await tick();
  a.session.connection.close();
  const b = collectingSession(broker);
  b.session.consume('q', { noAck: true });
  await tick();
  assert.deepEqual(
    b.received.map((r) => r.body),
    ['m0', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'],
  );
  assert.deepEqual(
    b.received.slice(0, 4).map((r) => r.redelivered),
    [true, true, true, true],
  );
});

void test('get pulls one message at a time and honours ack', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.vhost.declareQueue('q', {}, undefined);
  session.publish('', 'q', msg('one'));
  session.publish('', 'q', msg('two'));
  const e = session.get('q', false)!;
  assert.equal(e.message.body!.toString(), 'one');
  assert.equal(session.get('q', true)!.message.body!.toString(), 'two');
  assert.equal(session.get('q', true), undefined);
  session.nack(e.tag, false, true);
  assert.equal(session.get('q', true)!.redelivered, true);
});

void test('durable queue and persistent messages survive a clean restart; transient ones do not', async (t) => {
  const { broker, reopen } = await openBroker(t);
  const { session } = collectingSession(broker);
  const v = broker.vhost();
  v.declareQueue('keep', { durable: true, arguments: { 'x-foo': 'bar' } }, undefined);
  v.declareQueue('temp', { durable: false }, undefined);
  for (let i = 0; i < 100; i++) session.publish('', 'keep', msg(`p${i}`, i % 2 === 0));
  session.publish('', 'temp', msg('t'));
  // Ack the first 10 persistent ones.
  session.consume('keep', { prefetch: 10 });
  await tick();
  session.ack(0, true);
  await synced(broker);
  const b2 = await reopen();
  const q = b2.vhost().getQueue('keep', undefined);
  assert.deepEqual(q.arguments, { 'x-foo': 'bar' });
  assert.equal(b2.vhost().queues.has('temp'), false);
  const { session: s2, received } = collectingSession(b2);
  s2.consume('keep', { noAck: true });
  await tick();
  await tick();
  // p0..p18 even were consumed by the prefetch-10 consumer before the restart (10 messages:
  // p0..p9 of which evens persisted) → persistent messages from p10 on remain.
  const expected = [];
  for (let i = 10; i < 100; i += 2) expected.push(`p${i}`);
  assert.deepEqual(
    received.map((r) => r.body),
    expected,
  );
});

void test('redeclare with different settings is a precondition failure; passive declare of a missing queue is 404', async (t) => {
  const { broker } = await openBroker(t);
  const v = broker.vhost();
  v.declareQueue('q', { durable: true }, undefined);
  v.declareQueue('q', { durable: true }, undefined);
  assert.throws(() => v.declareQueue('q', { durable: false }, undefined), { replyCode: 406 });
  assert.throws(
    () => v.declareQueue('q', { durable: true, arguments: { 'x-max-length': 3 } }, undefined),
    {
      replyCode: 406,
    },
  );
  assert.throws(() => v.declareQueue('nope', {}, undefined, true), { replyCode: 404 });
});

void test('exclusive queues belong to one connection and vanish when it closes; auto-delete after last consumer', async (t) => {
  const { broker } = await openBroker(t);
  const a = collectingSession(broker);
  const b = collectingSession(broker);
  const v = broker.vhost();
  const q = v.declareQueue('', { exclusive: true }, a.session.connection);
  assert.match(q.name, /^amq\.gen-/);
  assert.throws(() => b.session.consume(q.name), { replyCode: 405 });
  a.session.connection.close();
  assert.equal(v.queues.has(q.name), false);
  v.declareQueue('ad', { autoDelete: true }, undefined);
  const c = b.session.consume('ad');
  assert.equal(v.queues.has('ad'), true);
  b.session.cancel(c.tag);
  assert.equal(v.queues.has('ad'), false);
});

void test('purge and delete count ready messages; delete cancels consumers', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  const v = broker.vhost();
  v.declareQueue('q', { durable: true }, undefined);
  for (let i = 0; i < 10; i++) session.publish('', 'q', msg(`m${i}`));
  assert.equal(v.purgeQueue('q', undefined), 10);
  session.publish('', 'q', msg('x'));
  let cancelled = 0;
  session.handler = { deliver: () => true, consumerCancelled: () => cancelled++ };
  session.prefetch = 0;
  assert.throws(() => v.deleteQueue('q', { ifEmpty: true }, undefined), { replyCode: 406 });
  session.consume('q', { prefetch: 0 });
  await tick();
  assert.throws(() => v.deleteQueue('q', { ifUnused: true }, undefined), { replyCode: 406 });
  assert.equal(v.deleteQueue('q', {}, undefined), 0);
  assert.equal(cancelled, 1);
});

void test('a mass requeue (20,000 unacked on session close) comes back complete and in order', async (t) => {
  const { broker } = await openBroker(t);
  const a = collectingSession(broker);
  a.session.vhost.declareQueue('mass', {}, undefined);
  const N = 20_000;
  for (let i = 0; i < N; i++) a.session.publish('', 'mass', msg(String(i), false));
  a.session.consume('mass');
  await until(() => a.received.length >= N, `${N} deliveries to a`);
  // Ack a few in the middle, nack one back on its own, then drop the session.
  a.session.ack(a.received[100]!.tag, false);
  a.session.nack(a.received[5000]!.tag, false, true);
  a.session.connection.close();
  const b = collectingSession(broker);
  b.session.consume('mass', { noAck: true });
  await until(() => b.received.length >= N - 1, `${N - 1} deliveries to b`);
  const expected = Array.from({ length: N }, (_, i) => String(i)).filter((x) => x !== '100');
  assert.deepEqual(
    b.received.map((r) => r.body),
    expected,
  );
  assert.ok(b.received.every((r) => r.redelivered));
});
