import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type amqp from 'amqplib';
import { eventually, expectNothingFor } from '../helpers/core.js';
import { connectDroppable, openChannel, openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

interface Seen {
  body: string;
  redelivered: boolean;
}

/**
 * Consumer A takes all 10 messages without acking; consumer B (another connection) attaches
 * afterwards and so starts with nothing.
 */
async function setup(t: TestContext): Promise<{
  a: amqp.Channel;
  aConn: amqp.ChannelModel;
  dropA: () => void;
  bSeen: Seen[];
  aSeen: Seen[];
  pub: amqp.ConfirmChannel;
}> {
  const { url } = await startBroker(t);
  const pubConn = await connect(t, url);
  const pub = await openConfirmChannel(pubConn);
  await pub.assertQueue('rq', { durable: true });
  for (let i = 0; i < 10; i++) pub.sendToQueue('rq', Buffer.from(`m${i}`), { persistent: true });
  await pub.waitForConfirms();

  const { conn: aConn, drop: dropA } = await connectDroppable(t, url);
  const a = await openChannel(aConn);
  const aSeen: Seen[] = [];
  await a.consume('rq', (m) => {
    if (m !== null) aSeen.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
  });
  await eventually(() => assert.equal(aSeen.length, 10));

  const bConn = await connect(t, url);
  const b = await openChannel(bConn);
  const bSeen: Seen[] = [];
  await b.consume('rq', (m) => {
    if (m === null) return;
    bSeen.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
    b.ack(m);
  });
  await expectNothingFor(50, () =>
    assert.equal(bSeen.length, 0, 'B has nothing while A holds every message'),
  );
  return { a, aConn, dropA, bSeen, aSeen, pub };
}

const expected = Array.from({ length: 10 }, (_, i) => ({ body: `m${i}`, redelivered: true }));

void test('channel.close requeues its unacked deliveries to another consumer, redelivered=true, in order (AMQP 0-9-1, RabbitMQ)', async (t) => {
  const { a, bSeen, aSeen, pub } = await setup(t);
  assert.ok(aSeen.every((s) => !s.redelivered));
  await a.close();
  await eventually(() => assert.equal(bSeen.length, 10));
  assert.deepEqual(bSeen, expected);
  await eventually(async () => assert.equal((await pub.checkQueue('rq')).messageCount, 0));
});

void test('a client connection dropped without closing requeues its unacked deliveries, redelivered=true (RabbitMQ)', async (t) => {
  const { dropA, bSeen } = await setup(t);
  // No connection.close: the TCP stream just goes away.
  dropA();
  await eventually(() => assert.equal(bSeen.length, 10));
  assert.deepEqual(bSeen, expected);
});

void test('connection.close requeues the unacked deliveries of all its channels (RabbitMQ)', async (t) => {
  const { aConn, bSeen } = await setup(t);
  await aConn.close();
  await eventually(() => assert.equal(bSeen.length, 10));
  assert.deepEqual(bSeen, expected);
});

void test('acked messages are not requeued when the channel closes; only the unacked rest is (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('partial', { durable: false });
  for (let i = 0; i < 6; i++) pub.sendToQueue('partial', Buffer.from(`m${i}`));
  await pub.waitForConfirms();
  const ch = await openChannel(conn);
  const got: amqp.ConsumeMessage[] = [];
  await ch.consume('partial', (m) => {
    if (m !== null) got.push(m);
  });
  await eventually(() => assert.equal(got.length, 6));
  ch.ack(got[1]!, true); // m0, m1
  ch.ack(got[3]!); // m3
  await ch.close();
  const left: [string, boolean][] = [];
  for (;;) {
    const m = await pub.get('partial', { noAck: true });
    if (m === false) break;
    left.push([m.content.toString(), m.fields.redelivered]);
  }
  assert.deepEqual(left, [
    ['m2', true],
    ['m4', true],
    ['m5', true],
  ]);
});

void test('basic.get deliveries that were never acked are requeued when the channel closes (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('gq', { durable: false });
  pub.sendToQueue('gq', Buffer.from('x'));
  await pub.waitForConfirms();
  const ch = await openChannel(conn);
  const m = await ch.get('gq');
  assert.ok(m !== false);
  assert.equal(m.fields.redelivered, false);
  assert.equal((await pub.checkQueue('gq')).messageCount, 0);
  await ch.close();
  const again = await pub.get('gq', { noAck: true });
  assert.ok(again !== false, 'the unacked get came back');
  assert.equal(again.content.toString(), 'x');
  assert.equal(again.fields.redelivered, true);
});
