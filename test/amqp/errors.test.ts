import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { eventually } from '../helpers/core.js';
import {
  assertServing,
  hasCode,
  MethodId,
  nextChannelError,
  openChannel,
  openConfirmChannel,
  RawClient,
  within,
} from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

/** A fake amqplib message carrying only a delivery tag, for acking tags the broker never sent. */
function tag(deliveryTag: number): amqp.Message {
  return { fields: { deliveryTag } } as unknown as amqp.Message;
}

void test('publishing to a missing exchange closes only that channel with 404; another channel on the connection keeps working (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  let connError: unknown;
  conn.on('error', (e) => (connError = e));
  const good = await openConfirmChannel(conn);
  await good.assertQueue('alive', { durable: false });
  const got: string[] = [];
  await good.consume('alive', (m) => {
    if (m === null) return;
    got.push(m.content.toString());
    good.ack(m);
  });
  const bad = await openChannel(conn);
  const err = nextChannelError(bad);
  bad.publish('no-such-exchange', 'k', Buffer.from('lost'));
  const e = await within(err, 'channel.close 404');
  assert.equal(e.code, 404);
  assert.match(e.message, /NOT_FOUND/);
  assert.match(e.message, /no-such-exchange/);
  // The other channel publishes and consumes as before.
  for (let i = 0; i < 20; i++) good.sendToQueue('alive', Buffer.from(String(i)));
  await good.waitForConfirms();
  await eventually(() => assert.equal(got.length, 20));
  assert.equal(connError, undefined, 'the connection saw no error');
  // And new channels can be opened on it.
  await (await openChannel(conn)).checkQueue('alive');
});

void test('a confirm-mode publish to a missing exchange fails its callback and closes the channel with 404 (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  const err = nextChannelError(ch);
  const result = new Promise<unknown>((resolve) =>
    ch.publish('missing-x', '', Buffer.from('x'), {}, resolve),
  );
  assert.equal((await within(err, 'channel.close')).code, 404);
  assert.notEqual(await within(result, 'publish callback'), null);
  await assertServing(t, url);
});

void test('basic.ack of an unknown delivery tag closes the channel with 406 PRECONDITION_FAILED (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  const err = nextChannelError(ch);
  ch.ack(tag(999));
  const e = await within(err, 'channel.close 406');
  assert.equal(e.code, 406);
  assert.match(e.message, /unknown delivery tag 999/);
  await (await openChannel(conn)).assertQueue('still-fine', { durable: false });
});

void test('acking the same delivery tag twice closes the channel with 406 (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('twice', { durable: false });
  ch.sendToQueue('twice', Buffer.from('x'));
  await ch.waitForConfirms();
  const m = await ch.get('twice');
  assert.ok(m !== false);
  const err = nextChannelError(ch);
  ch.ack(m);
  ch.ack(m);
  assert.equal((await within(err, 'channel.close 406')).code, 406);
  // The first ack took effect: the message is gone, not requeued by the channel close.
  const probe = await openChannel(conn);
  assert.equal((await probe.checkQueue('twice')).messageCount, 0);
});

void test('nack, reject and multiple-ack of an unknown tag are 406 too (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const attempts: [string, (ch: amqp.Channel) => void][] = [
    ['nack', (ch) => ch.nack(tag(5), false, true)],
    ['reject', (ch) => ch.reject(tag(5), false)],
    ['ack multiple', (ch) => ch.ack(tag(5), true)],
    ['nack multiple', (ch) => ch.nack(tag(5), true, false)],
  ];
  for (const [what, attempt] of attempts) {
    const ch = await openChannel(conn);
    const err = nextChannelError(ch);
    attempt(ch);
    assert.equal((await within(err, what)).code, 406, what);
  }
});

void test('a delivery tag is only valid on the channel that received it: acking it on another channel is 406 (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('per-channel', { durable: false });
  ch.sendToQueue('per-channel', Buffer.from('x'));
  await ch.waitForConfirms();
  const m = await ch.get('per-channel');
  assert.ok(m !== false);
  const other = await openChannel(conn);
  const err = nextChannelError(other);
  other.ack(m);
  assert.equal((await within(err, 'channel.close')).code, 406);
  // Still valid where it came from.
  ch.ack(m);
  assert.equal((await ch.checkQueue('per-channel')).messageCount, 0);
});

void test('a channel closed by an error requeues its unacked deliveries, redelivered=true (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('victim', { durable: false });
  for (let i = 0; i < 3; i++) pub.sendToQueue('victim', Buffer.from(`m${i}`));
  await pub.waitForConfirms();
  const ch = await openChannel(conn);
  const held: amqp.ConsumeMessage[] = [];
  await ch.consume('victim', (m) => {
    if (m !== null) held.push(m);
  });
  await eventually(() => assert.equal(held.length, 3));
  const err = nextChannelError(ch);
  ch.ack(tag(42));
  assert.equal((await within(err, 'channel.close')).code, 406);
  const back: [string, boolean][] = [];
  for (let i = 0; i < 3; i++) {
    const m = await pub.get('victim', { noAck: true });
    assert.ok(m !== false, 'the held messages were requeued');
    back.push([m.content.toString(), m.fields.redelivered]);
  }
  assert.deepEqual(back, [
    ['m0', true],
    ['m1', true],
    ['m2', true],
  ]);
});

void test('basic.consume on a missing queue closes the channel with 404 (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await assert.rejects(
    ch.consume('ghost', () => {}),
    hasCode(404),
  );
  await assertServing(t, url);
});

void test('an exclusive consumer locks the queue: other consumers are refused 403 ACCESS_REFUSED (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertQueue('excl-consumer', { durable: false });
  const { consumerTag } = await ch.consume('excl-consumer', () => {}, { exclusive: true });
  const ch2 = await openChannel(conn);
  await assert.rejects(
    ch2.consume('excl-consumer', () => {}),
    hasCode(403),
  );
  await ch.cancel(consumerTag);
  const ch3 = await openChannel(conn);
  await ch3.consume('excl-consumer', () => {});
  const ch4 = await openChannel(conn);
  await assert.rejects(
    ch4.consume('excl-consumer', () => {}, { exclusive: true }),
    hasCode(403),
  );
});

void test('basic.qos with a prefetch-size is refused with 540 NOT_IMPLEMENTED, a connection error (RabbitMQ)', async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake();
  await c.openChannel(1);
  c.sendMethod(1, MethodId.BasicQos, {
    prefetchSize: 2 ** 32 - 1,
    prefetchCount: 65535,
    global: false,
  });
  // rabbit_channel: protocol_error(not_implemented, "prefetch_size!=0 (~w)") -> connection.close.
  const close = await c.expectConnectionClose();
  assert.equal(close.replyCode, 540);
  assert.match(close.replyText, /NOT_IMPLEMENTED/);
  await c.waitClosed();
  await assertServing(t, url);
});

void test('basic.qos prefetch-count 65535 is accepted (AMQP 0-9-1 short) and needs no allocation up front (RabbitMQ)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake();
  await c.openChannel(1);
  c.sendMethod(1, MethodId.BasicQos, { prefetchSize: 0, prefetchCount: 65535, global: true });
  await c.expectMethod(1, MethodId.BasicQosOk);
  c.sendMethod(1, MethodId.BasicQos, { prefetchSize: 0, prefetchCount: 65535, global: false });
  await c.expectMethod(1, MethodId.BasicQosOk);
});

void test('basic.recover requeue=false is refused with 540 NOT_IMPLEMENTED, a connection error (RabbitMQ)', async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake();
  await c.openChannel(1);
  c.sendMethod(1, MethodId.BasicRecover, { requeue: false });
  // rabbit_channel: protocol_error(not_implemented, "requeue=false") -> connection.close.
  const close = await c.expectConnectionClose();
  assert.equal(close.replyCode, 540);
  await c.waitClosed();
  await assertServing(t, url);
});

void test('channel.close from the client is answered with close-ok and the channel id can be reused (AMQP 0-9-1)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake();
  await c.openChannel(1);
  c.sendMethod(1, MethodId.ChannelClose, {
    replyCode: 200,
    replyText: 'bye',
    classId: 0,
    methodId: 0,
  });
  await c.expectMethod(1, MethodId.ChannelCloseOk);
  await c.openChannel(1);
  c.sendQueueDeclare(1, 'reused');
  const ok = await c.expectMethod(1, MethodId.QueueDeclareOk);
  assert.equal(ok.queue, 'reused');
});

void test('after the broker closes a channel, frames for it are ignored until the client sends close-ok (AMQP 0-9-1 §2.2.3)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake();
  await c.openChannel(1);
  c.sendMethod(1, MethodId.BasicAck, { deliveryTag: 77, multiple: false });
  // Before answering close-ok, keep talking on the closing channel: it must be dropped.
  c.sendQueueDeclare(1, 'ignored');
  const close = await c.expectChannelClose(1);
  assert.equal(close.replyCode, 406);
  await c.openChannel(1);
  c.sendMethod(1, MethodId.QueueDeclare, {
    ticket: 0,
    queue: 'ignored',
    passive: true,
    durable: false,
    exclusive: false,
    autoDelete: false,
    nowait: false,
    arguments: {},
  });
  const close2 = await c.expectChannelClose(1);
  assert.equal(close2.replyCode, 404, 'the declare sent while closing was not executed');
  assert.equal(c.frames.filter((f) => f.method?.id === MethodId.QueueDeclareOk).length, 0);
});
