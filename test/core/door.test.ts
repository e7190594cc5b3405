import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Queue } from '../../src/core/queue.js';
import { collectingSession, eventually, msg, openBroker, synced, tick } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

void test('door: declarations, bindings and purge go through the session', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.declareExchange('x', 'direct', { durable: true });
  const q = session.declareQueue('dq', { durable: true });
  session.bind('x', 'dq', 'queue', 'k');
  session.publish('x', 'k', msg('one'));
  assert.equal(session.queue('dq').messageCount, 1);
  assert.equal(q.messageCount, 1);
  session.unbind('x', 'dq', 'queue', 'k');
  assert.equal(session.publish('x', 'k', msg('two')).queues.length, 0);
  assert.equal(session.purgeQueue('dq'), 1);
  assert.equal(session.deleteQueue('dq'), 0);
  session.deleteExchange('x');
  assert.throws(() => session.queue('dq'), { replyCode: 404 });
});

void test('door: the session confirms "up to N" once per sync, in publish order', async (t) => {
  const { broker } = await openBroker(t);
  const confirms: number[] = [];
  const session = broker.connect({ user: 'test', trusted: true }).openSession({
    deliver: () => true,
    consumerCancelled: () => {},
    confirmed: (upto) => confirms.push(upto),
  });
  session.declareQueue('c', { durable: true });
  session.enableConfirms();
  for (let i = 0; i < 100; i++) session.publish('', 'c', msg(`m${i}`));
  // Unroutable publishes are confirmed too (RabbitMQ does), in the same sequence.
  session.publish('', 'nowhere', msg('lost'));
  await synced(broker);
  await eventually(() => assert.equal(confirms.at(-1), 101));
  for (let i = 1; i < confirms.length; i++) assert.ok(confirms[i]! > confirms[i - 1]!);
  assert.ok(confirms.length <= 3, `one confirm per sync, got ${confirms.join(',')}`);
});

void test('door: per-consumer cumulative ack settles only that consumer’s deliveries', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  session.declareQueue('a', {});
  session.declareQueue('b', {});
  for (let i = 0; i < 3; i++) {
    session.publish('', 'a', msg(`a${i}`, false));
    session.publish('', 'b', msg(`b${i}`, false));
  }
  const ca = session.consume('a');
  session.consume('b');
  await tick();
  assert.equal(received.length, 6);
  const lastA = received.filter((r) => r.consumer === ca).at(-1)!;
  assert.equal(session.ackConsumer(ca.tag, lastA.tag), 3);
  assert.equal(session.unackedCount, 3);
  assert.ok([...session.unacked.values()].every((e) => e.consumer !== ca));
  assert.throws(() => session.ackConsumer(ca.tag, received.find((r) => r.consumer !== ca)!.tag), {
    replyCode: 406,
  });
});

void test('door: a leased delivery not settled before its deadline goes back to the queue', async (t) => {
  const { broker } = await openBroker(t);
  const got: number[] = [];
  const conn = broker.connect({ user: 'http', protocol: 'test', trusted: true });
  const lease = conn.openSession(
    { deliver: () => true, consumerCancelled: () => {} },
    { leaseMs: 50 },
  );
  lease.declareQueue('l', {});
  lease.publish('', 'l', msg('x', false));
  const d = lease.get('l', false)!;
  assert.ok(d.deadline > 0);
  got.push(d.deliveryCount);
  assert.equal(lease.queue('l').messageCount, 0);
  await eventually(() => assert.equal(lease.queue('l').messageCount, 1));
  const again = lease.get('l', false)!;
  assert.equal(again.redelivered, true);
  assert.equal(again.deliveryCount, 2);
  lease.extendLease(again.tag, 60_000);
  lease.ack(again.tag, false);
  assert.equal(lease.unackedCount, 0);
});

void test('door: a publish from inside a removal (dead-letter style) does not disturb the outer one', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  const src = session.declareQueue('src', {}) as Queue;
  session.declareQueue('dlq', {});
  session.declareExchange('fan', 'fanout', {});
  session.declareQueue('f1', {});
  session.declareQueue('f2', {});
  session.bind('fan', 'f1', 'queue', '');
  session.bind('fan', 'f2', 'queue', '');
  const inner = collectingSession(broker).session;
  src.removalHook = (_q, entry, reason) => {
    inner.publish('', 'dlq', msg(`${reason}:${entry.message.body!.toString()}`, false));
    return false;
  };
  session.publish('', 'src', msg('poison', false));
  session.consume('src');
  await tick();
  session.nack(received[0]!.tag, false, false);
  const r = session.publish('fan', '', msg('after', false));
  assert.deepEqual(
    r.queues.map((q) => q.name),
    ['f1', 'f2'],
  );
  assert.equal(session.queue('dlq').messageCount, 1);
  assert.equal(inner.get('dlq', true)!.message.body!.toString(), 'rejected:poison');
});

void test('door: the broker closes an AMQP connection through its close hook (320 CONNECTION_FORCED)', async (t) => {
  const { server, url } = await startBroker(t);
  const conn = await connect(t, url);
  const closed = new Promise<Error | undefined>((resolve) => conn.on('close', resolve));
  await eventually(() => assert.equal(server.broker.connections.size, 1));
  const [core] = [...server.broker.connections];
  assert.equal(core!.principal.user, 'guest');
  assert.equal(core!.principal.vhost, '/');
  assert.equal(core!.principal.protocol, 'amqp-0-9-1');
  assert.equal(core!.principal.remoteAddress, '127.0.0.1');
  assert.equal(server.broker.closeConnection(core!.id, 'closed by an operator'), true);
  const err = (await closed) as Error & { code?: number };
  assert.equal(err?.code, 320);
  assert.match(err.message, /CONNECTION_FORCED - closed by an operator/);
  await eventually(() => assert.equal(server.broker.connections.size, 0));
});

void test('door: a publish the store refuses while healthy is nacked, the rest confirmed', async (t) => {
  const { broker } = await openBroker(t);
  const confirms: number[] = [];
  const refused: number[] = [];
  const session = broker.connect({ user: 'test', trusted: true }).openSession({
    deliver: () => true,
    consumerCancelled: () => {},
    confirmed: (upto) => confirms.push(upto),
    refused: (seq) => refused.push(seq),
  });
  session.declareQueue('r', { durable: true });
  session.enableConfirms();
  session.publish('', 'r', msg('ok-1'));
  // One refused append: the store throws for this message only and stays healthy.
  const store = broker.store;
  const enqueue = store.enqueue.bind(store);
  store.enqueue = () => {
    throw new RangeError('too many queues for one record');
  };
  const r = session.publish('', 'r', msg('refused'));
  store.enqueue = enqueue;
  assert.ok(r.failed instanceof RangeError);
  session.publish('', 'r', msg('ok-3'));
  await eventually(() => assert.equal(confirms.at(-1), 3));
  assert.deepEqual(refused, [2]);
  assert.equal(session.queue('r').messageCount, 2);
  assert.equal(store.failure, undefined);
});

void test('door: cumulative ack matches the consumer, not a tag reused after cancel', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  session.declareQueue('re', {});
  for (let i = 0; i < 4; i++) session.publish('', 're', msg(`m${i}`, false));
  session.consume('re', { tag: 'sub', prefetch: 2 });
  await tick();
  session.cancel('sub');
  session.consume('re', { tag: 'sub', prefetch: 2 });
  await tick();
  assert.equal(received.length, 4);
  assert.equal(session.ackConsumer('sub', received[3]!.tag), 2);
  assert.equal(session.unackedCount, 2, 'the first consumer’s deliveries stay unacked');
});

void test('door: the removal hook hears rejections, never acks or a deleted queue’s messages', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  const q = session.declareQueue('h', {}) as Queue;
  const reasons: string[] = [];
  q.removalHook = (_q, _e, reason) => {
    reasons.push(reason);
    return false;
  };
  for (let i = 0; i < 3; i++) session.publish('', 'h', msg(`m${i}`, false));
  session.consume('h');
  await tick();
  session.ack(received[0]!.tag, false);
  session.nack(received[1]!.tag, false, false);
  session.deleteQueue('h');
  session.nack(received[2]!.tag, false, true);
  assert.deepEqual(reasons, ['rejected']);
});
