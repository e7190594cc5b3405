import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { eventually } from '../helpers/core.js';
import {
  connectDroppable,
  hasCode,
  nextChannelError,
  openChannel,
  openConfirmChannel,
  within,
} from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

void test('queue.declare with an empty name creates a server-named amq.gen-… queue (AMQP 0-9-1, RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  const a = await ch.assertQueue('', { exclusive: true, durable: false });
  const b = await ch.assertQueue('', { exclusive: true, durable: false });
  assert.match(a.queue, /^amq\.gen-[A-Za-z0-9_-]+$/);
  assert.notEqual(a.queue, b.queue);
  assert.equal(a.messageCount, 0);
  assert.equal(a.consumerCount, 0);
  ch.sendToQueue(a.queue, Buffer.from('to the generated name'));
  await ch.waitForConfirms();
  assert.equal((await ch.checkQueue(a.queue)).messageCount, 1);
});

void test('queue.declare of an amq.* name is refused 403 ACCESS_REFUSED (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openChannel(await connect(t, url));
  await assert.rejects(ch.assertQueue('amq.mine', { durable: false }), hasCode(403));
});

void test('an exclusive queue used from a second connection fails 405 RESOURCE_LOCKED (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const owner = await connect(t, url);
  const och = await openChannel(owner);
  const { queue } = await och.assertQueue('mine', { exclusive: true, durable: false });
  // The owner may use it from any of its channels.
  const och2 = await openChannel(owner);
  await och2.checkQueue(queue);
  const other = await connect(t, url);
  const attempts: [string, (ch: amqp.Channel) => Promise<unknown>][] = [
    ['passive declare', (ch) => ch.checkQueue(queue)],
    ['declare', (ch) => ch.assertQueue(queue, { exclusive: true, durable: false })],
    ['consume', (ch) => ch.consume(queue, () => {})],
    ['get', (ch) => ch.get(queue)],
    ['purge', (ch) => ch.purgeQueue(queue)],
    ['delete', (ch) => ch.deleteQueue(queue)],
    ['bind', (ch) => ch.bindQueue(queue, 'amq.fanout', '')],
  ];
  for (const [what, attempt] of attempts) {
    const ch = await openChannel(other);
    await assert.rejects(attempt(ch), hasCode(405), what);
  }
  // Still there for its owner.
  await och2.checkQueue(queue);
});

void test('an exclusive queue is deleted when its declaring connection closes (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const owner = await connect(t, url);
  await (await openChannel(owner)).assertQueue('ephemeral', { exclusive: true, durable: false });
  const other = await connect(t, url);
  await owner.close();
  await eventually(async () => {
    const ch = await openChannel(other);
    await assert.rejects(ch.checkQueue('ephemeral'), hasCode(404));
  });
  // The name is free again.
  await (await openChannel(other)).assertQueue('ephemeral', { exclusive: true, durable: false });
});

void test('an exclusive queue is deleted when its connection drops without closing (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const owner = await connectDroppable(t, url);
  await (await openChannel(owner.conn)).assertQueue('dropped', { exclusive: true, durable: false });
  owner.drop();
  const other = await connect(t, url);
  await eventually(async () => {
    const ch = await openChannel(other);
    await assert.rejects(ch.checkQueue('dropped'), hasCode(404));
  });
});

void test('an auto-delete queue is deleted when its last consumer cancels, not before (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertQueue('ad', { autoDelete: true, durable: false });
  // No consumer yet: it stays.
  await ch.checkQueue('ad');
  const c1 = await ch.consume('ad', () => {});
  const c2 = await ch.consume('ad', () => {});
  assert.equal((await ch.checkQueue('ad')).consumerCount, 2);
  await ch.cancel(c1.consumerTag);
  assert.equal((await ch.checkQueue('ad')).consumerCount, 1);
  await ch.cancel(c2.consumerTag);
  const probe = await openChannel(conn);
  await assert.rejects(probe.checkQueue('ad'), hasCode(404));
});

void test('an auto-delete queue is deleted when its consumer channel closes (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertQueue('ad2', { autoDelete: true, durable: false });
  await ch.consume('ad2', () => {});
  await ch.close();
  const probe = await openChannel(conn);
  await assert.rejects(probe.checkQueue('ad2'), hasCode(404));
});

void test('queue.declare passive on a missing queue closes the channel with 404 NOT_FOUND; the connection lives (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  const err = nextChannelError(ch);
  await assert.rejects(ch.checkQueue('nope'), hasCode(404));
  assert.equal((await within(err, 'channel error')).code, 404);
  await (await openChannel(conn)).assertQueue('yes', { durable: false });
});

void test('queue.declare with a different durable flag than the existing queue fails 406 PRECONDITION_FAILED (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertQueue('d', { durable: true });
  await ch.assertQueue('d', { durable: true }); // equivalent: fine
  await assert.rejects(ch.assertQueue('d', { durable: false }), hasCode(406));
  const ch2 = await openChannel(conn);
  await assert.rejects(ch2.assertQueue('d', { durable: true, autoDelete: true }), hasCode(406));
  const ch3 = await openChannel(conn);
  await assert.rejects(ch3.assertQueue('d', { durable: true, messageTtl: 1000 }), hasCode(406));
  // A passive declare ignores the flags.
  const ch4 = await openChannel(conn);
  await ch4.checkQueue('d');
});

void test('queue.declare-ok reports ready messages (not unacked ones) and consumers (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('counts', { durable: false });
  for (let i = 0; i < 5; i++) pub.sendToQueue('counts', Buffer.from(String(i)));
  await pub.waitForConfirms();
  let ok = await pub.assertQueue('counts', { durable: false });
  assert.deepEqual(ok, { queue: 'counts', messageCount: 5, consumerCount: 0 });
  const sub = await openChannel(conn);
  await sub.prefetch(2);
  let got = 0;
  await sub.consume('counts', (m) => {
    if (m !== null) got++;
  });
  const idle = await openChannel(conn);
  await idle.prefetch(1);
  await idle.consume('counts', () => {});
  await eventually(() => assert.equal(got, 2));
  await eventually(async () => {
    ok = await pub.checkQueue('counts');
    assert.deepEqual(ok, { queue: 'counts', messageCount: 2, consumerCount: 2 });
  });
});

void test('queue.purge drops the ready messages and returns their count; unacked ones survive (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('p', { durable: true });
  for (let i = 0; i < 7; i++) ch.sendToQueue('p', Buffer.from(String(i)), { persistent: true });
  await ch.waitForConfirms();
  const held = await ch.get('p');
  assert.ok(held !== false);
  assert.deepEqual(await ch.purgeQueue('p'), { messageCount: 6 });
  assert.deepEqual(await ch.purgeQueue('p'), { messageCount: 0 });
  ch.nack(held, false, true);
  const back = await ch.get('p', { noAck: true });
  assert.ok(back !== false, 'the unacked message was not purged');
  assert.equal(back.content.toString(), '0');
});

void test('queue.delete if-empty on a non-empty queue fails 406; if-unused with a consumer fails 406 (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('full', { durable: false });
  ch.sendToQueue('full', Buffer.from('x'));
  await ch.waitForConfirms();
  const c1 = await openChannel(conn);
  await assert.rejects(c1.deleteQueue('full', { ifEmpty: true }), hasCode(406));
  await ch.checkQueue('full');

  await ch.assertQueue('used', { durable: false });
  const consumer = await openChannel(conn);
  await consumer.consume('used', () => {});
  const c2 = await openChannel(conn);
  await assert.rejects(c2.deleteQueue('used', { ifUnused: true }), hasCode(406));
  await ch.checkQueue('used');

  // Without the conditions both go, and delete-ok counts the messages.
  assert.deepEqual(await ch.deleteQueue('full'), { messageCount: 1 });
  assert.deepEqual(await ch.deleteQueue('used'), { messageCount: 0 });
  // Deleting a missing queue is not an error (RabbitMQ).
  assert.deepEqual(await ch.deleteQueue('full'), { messageCount: 0 });
});

void test('queue.delete with a consumer attached sends it basic.cancel (amqplib: callback with null) (RabbitMQ consumer_cancel_notify)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const sub = await openChannel(conn);
  await sub.assertQueue('doomed', { durable: false });
  const seen: (string | null)[] = [];
  const cancelled = new Promise<void>((resolve) => {
    void sub.consume('doomed', (m) => {
      seen.push(m === null ? null : m.content.toString());
      if (m === null) resolve();
    });
  });
  const other = await openChannel(await connect(t, url));
  await other.deleteQueue('doomed');
  await within(cancelled, 'the consumer cancel notification');
  assert.deepEqual(seen, [null]);
  // The subscriber's channel is still open.
  await sub.assertQueue('survivor', { durable: false });
});

void test('queue.unbind stops routing through that binding only (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertQueue('ub', { durable: false });
  await ch.bindQueue('ub', 'amq.direct', 'one');
  await ch.bindQueue('ub', 'amq.direct', 'two');
  await ch.unbindQueue('ub', 'amq.direct', 'one');
  // Unbinding something that is not bound is fine (RabbitMQ).
  await ch.unbindQueue('ub', 'amq.direct', 'never');
  ch.publish('amq.direct', 'one', Buffer.from('1'));
  ch.publish('amq.direct', 'two', Buffer.from('2'));
  await ch.waitForConfirms();
  const m = await ch.get('ub', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.toString(), '2');
  assert.equal(await ch.get('ub', { noAck: true }), false);
});

void test('queue.bind to a missing exchange or missing queue fails 404 (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertQueue('lonely', { durable: false });
  await assert.rejects(ch.bindQueue('lonely', 'no-such-exchange', 'k'), hasCode(404));
  const ch2 = await openChannel(conn);
  await assert.rejects(ch2.bindQueue('no-such-queue', 'amq.direct', 'k'), hasCode(404));
});

void test('durable queues survive a broker restart; non-durable queues do not (AMQP 0-9-1)', async (t) => {
  const broker = await startBroker(t);
  {
    const conn = await connect(t, broker.url);
    const ch = await openChannel(conn);
    await ch.assertQueue('stays', { durable: true, arguments: { 'x-message-ttl': 60000 } });
    await ch.assertQueue('goes', { durable: false });
    await ch.assertQueue('deleted-before', { durable: true });
    await ch.deleteQueue('deleted-before');
    await conn.close();
  }
  await broker.restart();
  const conn = await connect(t, broker.url);
  const ch = await openChannel(conn);
  await ch.checkQueue('stays');
  // Its arguments came back: an equivalent redeclare works, a different one fails.
  await ch.assertQueue('stays', { durable: true, arguments: { 'x-message-ttl': 60000 } });
  const c2 = await openChannel(conn);
  await assert.rejects(c2.assertQueue('stays', { durable: true }), hasCode(406));
  const c3 = await openChannel(conn);
  await assert.rejects(c3.checkQueue('goes'), hasCode(404));
  const c4 = await openChannel(conn);
  await assert.rejects(c4.checkQueue('deleted-before'), hasCode(404));
});

void test('unacked deliveries of a deleted queue can still be acked without a channel error (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('short-lived', { durable: true });
  for (let i = 0; i < 3; i++)
    ch.sendToQueue('short-lived', Buffer.from(String(i)), { persistent: true });
  await ch.waitForConfirms();
  const held: amqp.GetMessage[] = [];
  for (let i = 0; i < 3; i++) {
    const m = await ch.get('short-lived');
    assert.ok(m !== false);
    held.push(m);
  }
  const other = await openChannel(conn);
  await other.deleteQueue('short-lived');
  let closed = false;
  ch.on('close', () => (closed = true));
  ch.ack(held[0]!);
  ch.nack(held[1]!, false, true);
  ch.reject(held[2]!, false);
  // A round trip on the same channel proves it is still open.
  await ch.assertQueue('short-lived', { durable: true });
  assert.equal(closed, false);
  assert.equal(
    (await ch.checkQueue('short-lived')).messageCount,
    0,
    'nothing leaked into the new queue',
  );
});

void test('basic.cancel of an unknown consumer tag is answered with cancel-ok (AMQP 0-9-1 spec: ignore)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openChannel(await connect(t, url));
  assert.deepEqual(await ch.cancel('never-consumed'), { consumerTag: 'never-consumed' });
  await ch.assertQueue('after-cancel', { durable: false });
});
