import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type amqp from 'amqplib';
import { eventually } from '../helpers/core.js';
import { openChannel, openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

/** A broker, one connection, a confirm channel `pub` for publishing and a plain channel `ch`. */
async function setup(
  t: TestContext,
  queue: string,
  n: number,
): Promise<{ pub: amqp.ConfirmChannel; ch: amqp.Channel; conn: amqp.ChannelModel }> {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue(queue, { durable: true });
  for (let i = 0; i < n; i++) pub.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: true });
  await pub.waitForConfirms();
  return { pub, ch: await openChannel(conn), conn };
}

async function getOne(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage> {
  const m = await ch.get(queue);
  assert.ok(m !== false, `expected a message on ${queue}`);
  return m;
}

async function drain(ch: amqp.Channel, queue: string): Promise<[string, boolean][]> {
  const out: [string, boolean][] = [];
  for (;;) {
    const m = await ch.get(queue);
    if (m === false) return out;
    out.push([m.content.toString(), m.fields.redelivered]);
    ch.ack(m);
  }
}

void test('basic.nack requeue=true restores original position and sets redelivered (RabbitMQ)', async (t) => {
  const { ch } = await setup(t, 'nq', 6);
  const m0 = await getOne(ch, 'nq');
  const m1 = await getOne(ch, 'nq');
  const m2 = await getOne(ch, 'nq');
  // Requeue out of order: m1 first, then m0. Both go back in front of m3, in seq order.
  ch.nack(m1, false, true);
  ch.nack(m0, false, true);
  const got = await (async () => {
    const out: [string, boolean][] = [];
    for (let i = 0; i < 3; i++) {
      const m = await getOne(ch, 'nq');
      out.push([m.content.toString(), m.fields.redelivered]);
      ch.ack(m);
    }
    return out;
  })();
  assert.deepEqual(got, [
    ['m0', true],
    ['m1', true],
    ['m3', false],
  ]);
  ch.ack(m2);
  assert.deepEqual(await drain(ch, 'nq'), [
    ['m4', false],
    ['m5', false],
  ]);
});

void test('basic.nack requeue=true to a consumer: the message comes back first, flagged redelivered (RabbitMQ)', async (t) => {
  const { ch } = await setup(t, 'nc', 4);
  await ch.prefetch(1);
  const seen: [string, boolean][] = [];
  let nacked = false;
  await ch.consume('nc', (m) => {
    if (m === null) return;
    seen.push([m.content.toString(), m.fields.redelivered]);
    if (!nacked) {
      nacked = true;
      ch.nack(m, false, true);
    } else {
      ch.ack(m);
    }
  });
  await eventually(() => assert.equal(seen.length, 5));
  assert.deepEqual(seen, [
    ['m0', false],
    ['m0', true],
    ['m1', false],
    ['m2', false],
    ['m3', false],
  ]);
});

void test('basic.nack multiple=true requeues every unacked delivery up to the tag (RabbitMQ)', async (t) => {
  const { ch, pub } = await setup(t, 'nm', 6);
  const ms: amqp.GetMessage[] = [];
  for (let i = 0; i < 5; i++) ms.push(await getOne(ch, 'nm'));
  // nack m0..m3 in one go; m4 stays unacked.
  ch.nack(ms[3]!, true, true);
  assert.equal((await pub.checkQueue('nm')).messageCount, 5, 'four requeued plus m5');
  const again: [string, boolean][] = [];
  for (let i = 0; i < 5; i++) {
    const m = await getOne(ch, 'nm');
    again.push([m.content.toString(), m.fields.redelivered]);
    ch.ack(m);
  }
  assert.deepEqual(again, [
    ['m0', true],
    ['m1', true],
    ['m2', true],
    ['m3', true],
    ['m5', false],
  ]);
  ch.ack(ms[4]!);
  assert.equal(await ch.get('nm'), false);
});

void test('basic.nack multiple=true requeue=false drops every unacked delivery up to the tag (RabbitMQ)', async (t) => {
  const { ch, pub } = await setup(t, 'nd', 4);
  const ms: amqp.GetMessage[] = [];
  for (let i = 0; i < 3; i++) ms.push(await getOne(ch, 'nd'));
  ch.nack(ms[1]!, true, false);
  ch.ack(ms[2]!);
  assert.deepEqual(await drain(ch, 'nd'), [['m3', false]]);
  assert.equal((await pub.checkQueue('nd')).messageCount, 0);
});

void test('basic.reject requeue=false drops the message (RabbitMQ)', async (t) => {
  const { ch, pub } = await setup(t, 'rj', 2);
  const m0 = await getOne(ch, 'rj');
  ch.reject(m0, false);
  const m1 = await getOne(ch, 'rj');
  assert.equal(m1.content.toString(), 'm1');
  ch.ack(m1);
  assert.equal(await ch.get('rj'), false);
  // Closing the channel must not bring the rejected message back.
  await ch.close();
  assert.equal((await pub.checkQueue('rj')).messageCount, 0);
});

void test('basic.reject requeue=true puts the message back at the head, redelivered (RabbitMQ)', async (t) => {
  const { ch } = await setup(t, 'rq', 3);
  const m0 = await getOne(ch, 'rq');
  ch.reject(m0, true);
  assert.deepEqual(await drain(ch, 'rq'), [
    ['m0', true],
    ['m1', false],
    ['m2', false],
  ]);
});

void test('basic.nackAll (delivery-tag 0, multiple) requeues everything outstanding on the channel (AMQP 0-9-1)', async (t) => {
  const { ch } = await setup(t, 'na', 4);
  for (let i = 0; i < 3; i++) await getOne(ch, 'na');
  ch.nackAll(true);
  assert.deepEqual(await drain(ch, 'na'), [
    ['m0', true],
    ['m1', true],
    ['m2', true],
    ['m3', false],
  ]);
});

void test('basic.ackAll (delivery-tag 0, multiple) acks everything outstanding on the channel (AMQP 0-9-1)', async (t) => {
  const { ch, pub } = await setup(t, 'aa', 4);
  for (let i = 0; i < 3; i++) await getOne(ch, 'aa');
  ch.ackAll();
  await ch.close();
  assert.equal((await pub.checkQueue('aa')).messageCount, 1, 'only the never-fetched m3 remains');
});

void test('basic.recover requeue=true redelivers every unacked message, flagged redelivered (RabbitMQ)', async (t) => {
  const { ch, pub } = await setup(t, 'rc', 4);
  const m0 = await getOne(ch, 'rc');
  await getOne(ch, 'rc');
  await getOne(ch, 'rc');
  ch.ack(m0);
  await ch.recover();
  assert.equal((await pub.checkQueue('rc')).messageCount, 3);
  assert.deepEqual(await drain(ch, 'rc'), [
    ['m1', true],
    ['m2', true],
    ['m3', false],
  ]);
});

void test('basic.recover with a consumer: unacked deliveries come back to it with redelivered=true (RabbitMQ)', async (t) => {
  const { ch } = await setup(t, 'rcc', 3);
  const seen: [string, boolean][] = [];
  const unacked: amqp.ConsumeMessage[] = [];
  await ch.consume('rcc', (m) => {
    if (m === null) return;
    seen.push([m.content.toString(), m.fields.redelivered]);
    if (m.fields.redelivered) ch.ack(m);
    else unacked.push(m);
  });
  await eventually(() => assert.equal(seen.length, 3));
  await ch.recover();
  await eventually(() => assert.equal(seen.length, 6));
  assert.deepEqual(seen.slice(3), [
    ['m0', true],
    ['m1', true],
    ['m2', true],
  ]);
  assert.equal(unacked.length, 3);
});
