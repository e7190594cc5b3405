import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { hasCode, nextChannelError, openConfirmChannel } from '../helpers/amqp-raw.js';
import { eventually, expectNothingFor } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const SAC = { 'x-single-active-consumer': true };

/** Subscribe on a channel of its own; every body received lands in `got`. */
async function subscriber(
  conn: amqp.ChannelModel,
  queue: string,
  opts: { prefetch?: number; ack?: boolean } = {},
): Promise<{ ch: amqp.Channel; got: string[]; msgs: amqp.Message[]; tag: string }> {
  const ch = await conn.createChannel();
  if (opts.prefetch !== undefined) await ch.prefetch(opts.prefetch);
  const got: string[] = [];
  const msgs: amqp.Message[] = [];
  const { consumerTag } = await ch.consume(queue, (m) => {
    if (m === null) return;
    got.push(m.content.toString() + (m.fields.redelivered ? '*' : ''));
    msgs.push(m);
    if (opts.ack !== false) ch.ack(m);
  });
  return { ch, got, msgs, tag: consumerTag };
}

async function publish(ch: amqp.ConfirmChannel, queue: string, bodies: string[]): Promise<void> {
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b));
  await ch.waitForConfirms();
}

void test('x-single-active-consumer: only the first consumer receives; the next takes over when it cancels', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  const q = await pub.assertQueue('sac', { arguments: SAC });
  assert.equal(q.consumerCount, 0);
  const a = await subscriber(conn, 'sac');
  const b = await subscriber(conn, 'sac');
  const c = await subscriber(conn, 'sac');
  // Every consumer is registered (RabbitMQ counts the waiting ones too).
  assert.equal((await pub.checkQueue('sac')).consumerCount, 3);
  await publish(pub, 'sac', ['1', '2', '3', '4']);
  await eventually(() => assert.deepEqual(a.got, ['1', '2', '3', '4']));
  await expectNothingFor(100, () => assert.deepEqual([b.got, c.got], [[], []]));
  await a.ch.cancel(a.tag);
  await publish(pub, 'sac', ['5', '6']);
  await eventually(() => assert.deepEqual(b.got, ['5', '6']));
  // Subscription order: b before c, also after b's channel is gone.
  await b.ch.close();
  await publish(pub, 'sac', ['7']);
  await eventually(() => assert.deepEqual(c.got, ['7']));
  assert.deepEqual(a.got, ['1', '2', '3', '4']);
});

void test('x-single-active-consumer: when the active channel closes, its unacked messages go to the next consumer first, in order', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('sac', { durable: true, arguments: SAC });
  const a = await subscriber(conn, 'sac', { prefetch: 3, ack: false });
  const b = await subscriber(conn, 'sac', { prefetch: 10 });
  await publish(pub, 'sac', ['1', '2', '3', '4', '5']);
  await eventually(() => assert.deepEqual(a.got, ['1', '2', '3']));
  // a is out of credit: b still gets nothing (not a round robin with a's spare turns).
  await expectNothingFor(150, () => assert.deepEqual(b.got, []));
  a.ch.ack(a.msgs[0]!);
  await eventually(() => assert.deepEqual(a.got, ['1', '2', '3', '4']));
  await a.ch.close();
  await eventually(() => assert.deepEqual(b.got, ['2*', '3*', '4*', '5']));
  assert.equal((await pub.checkQueue('sac')).messageCount, 0);
});

void test('x-single-active-consumer: basic.get still reads the queue; a consumer that joins later waits its turn', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('sac', { arguments: SAC });
  await publish(pub, 'sac', ['1', '2']);
  const got = await pub.get('sac', { noAck: true });
  assert.ok(got !== false && got.content.toString() === '1');
  const a = await subscriber(conn, 'sac', { prefetch: 1, ack: false });
  await eventually(() => assert.deepEqual(a.got, ['2']));
  const b = await subscriber(conn, 'sac');
  await publish(pub, 'sac', ['3']);
  await expectNothingFor(100, () => assert.deepEqual(b.got, []));
  // noAck consumers are single-active too.
  const ch = await conn.createChannel();
  const seen: string[] = [];
  await ch.consume('sac', (m) => m !== null && seen.push(m.content.toString()), { noAck: true });
  await expectNothingFor(100, () => assert.deepEqual(seen, []));
  a.ch.ack(a.msgs[0]!);
  await eventually(() => assert.deepEqual(a.got, ['2', '3']));
  assert.deepEqual([b.got, seen], [[], []]);
});

void test('x-single-active-consumer: a non-boolean is 406, and a redeclare that differs is inequivalent', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  let ch = await conn.createChannel();
  let err = nextChannelError(ch);
  ch.assertQueue('bad', { arguments: { 'x-single-active-consumer': 'yes' } }).catch(() => {});
  let e = await err;
  assert.ok(hasCode(406)(e), e.message);
  assert.match(e.message, /x-single-active-consumer/);
  ch = await conn.createChannel();
  await ch.assertQueue('sac', { arguments: SAC });
  err = nextChannelError(ch);
  ch.assertQueue('sac', { arguments: {} }).catch(() => {});
  e = await err;
  assert.ok(hasCode(406)(e), e.message);
  assert.match(e.message, /inequivalent arg 'x-single-active-consumer'/);
});
