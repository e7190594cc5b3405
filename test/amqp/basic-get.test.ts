import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode, nextChannelError, openChannel, openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

void test('basic.get-ok carries the message and message-count = messages left after it (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('g', { durable: false });
  for (let i = 0; i < 3; i++)
    ch.publish('', 'g', Buffer.from(`m${i}`), { contentType: 'text/plain', messageId: `id${i}` });
  await ch.waitForConfirms();
  const counts: number[] = [];
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) {
    const m = await ch.get('g');
    assert.ok(m !== false);
    counts.push(m.fields.messageCount);
    bodies.push(m.content.toString());
    assert.equal(m.fields.exchange, '');
    assert.equal(m.fields.routingKey, 'g');
    assert.equal(m.fields.redelivered, false);
    assert.equal(m.properties.contentType, 'text/plain');
    assert.equal(m.properties.messageId, `id${i}`);
    ch.ack(m);
  }
  assert.deepEqual(bodies, ['m0', 'm1', 'm2']);
  assert.deepEqual(counts, [2, 1, 0]);
});

void test('basic.get on an empty queue answers get-empty (amqplib: false) (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertQueue('empty', { durable: false });
  assert.equal(await ch.get('empty'), false);
  assert.equal(await ch.get('empty', { noAck: true }), false);
});

void test('basic.get noAck=true removes the message at once: no ack needed, nothing requeued on close (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('na', { durable: true });
  pub.sendToQueue('na', Buffer.from('a'), { persistent: true });
  pub.sendToQueue('na', Buffer.from('b'), { persistent: true });
  await pub.waitForConfirms();
  const ch = await openChannel(conn);
  const m = await ch.get('na', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.toString(), 'a');
  assert.equal(m.fields.messageCount, 1);
  await ch.close();
  const q = await pub.checkQueue('na');
  assert.equal(q.messageCount, 1, 'the no-ack get is gone for good');
  const rest = await pub.get('na', { noAck: true });
  assert.ok(rest !== false);
  assert.equal(rest.content.toString(), 'b');
});

void test('basic.get delivery tags continue the channel sequence shared with consumers (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('tags', { durable: false });
  for (let i = 0; i < 3; i++) ch.sendToQueue('tags', Buffer.from(String(i)));
  await ch.waitForConfirms();
  const tags: number[] = [];
  for (let i = 0; i < 3; i++) {
    const m = await ch.get('tags');
    assert.ok(m !== false);
    tags.push(m.fields.deliveryTag);
  }
  assert.deepEqual(tags, [1, 2, 3]);
  ch.ackAll();
});

void test('basic.get from a missing queue closes the channel with 404 NOT_FOUND (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  const err = nextChannelError(ch);
  await assert.rejects(ch.get('no-such-queue'), hasCode(404));
  assert.equal((await err).code, 404);
  // Only the channel died.
  const ch2 = await openChannel(conn);
  await ch2.assertQueue('fine', { durable: false });
});
