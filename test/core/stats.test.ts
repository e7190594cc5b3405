import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { Message } from '../../src/core/message.js';
import { until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

/**
 * The core's counters (vhost.stats, queue.stats, broker.stats()) as amqplib drives them. A
 * passive declare on the same channel is a round trip: the server has handled every ack and
 * nack sent before it, so the counts are exact once it answers.
 */

void test('stats: publishes with confirms, consumed and acked (multiple acks count each message)', async (t) => {
  const { url, server } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('work', { durable: true });
  const n = 25;
  for (let i = 0; i < n; i++) ch.sendToQueue('work', Buffer.from(`m${i}`), { persistent: true });
  await ch.waitForConfirms();
  const got: amqp.ConsumeMessage[] = [];
  await ch.consume('work', (m) => {
    if (m !== null) got.push(m);
  });
  await until(() => got.length === n, `${n} deliveries`);
  // Every fifth one acks the four before it too.
  for (let i = 4; i < n; i += 5) ch.ack(got[i]!, true);
  await ch.checkQueue('work');
  const s = server.broker.stats();
  assert.equal(s.received, n);
  assert.equal(s.receivedConfirm, n);
  assert.equal(s.routed, n);
  assert.equal(s.confirmed, n);
  assert.equal(s.deliveredConsumeManualAck, n);
  assert.equal(s.deliveredConsumeAutoAck, 0);
  assert.equal(s.acknowledged, n);
  assert.equal(s.redelivered, 0);
  assert.equal(s.unroutableDropped + s.unroutableReturned, 0);
  const q = server.broker.vhost('/').queues.get('work')!.stats;
  assert.deepEqual(
    { publish: q.publish, deliver: q.deliver, ack: q.ack, get: q.get },
    { publish: n, deliver: n, ack: n, get: 0 },
  );
});

void test('stats: no-ack consumers, basic.get with and without ack, get-empty, redeliveries', async (t) => {
  const { url, server } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('q');
  for (let i = 0; i < 4; i++) ch.sendToQueue('q', Buffer.from(`m${i}`));
  await ch.checkQueue('q');
  const a = await ch.get('q', { noAck: true });
  const b = await ch.get('q', { noAck: false });
  assert.ok(a !== false && b !== false);
  ch.nack(b, false, true); // back, redelivered
  const again = await ch.get('q', { noAck: false });
  assert.ok(again !== false && again.fields.redelivered);
  ch.ack(again);
  let delivered = 0;
  await ch.consume('q', () => void delivered++, { noAck: true });
  await until(() => delivered === 2, 'two no-ack deliveries');
  assert.equal(await ch.get('q'), false);
  assert.equal(await ch.get('q'), false);
  await ch.checkQueue('q');
  const s = server.broker.vhost('/').stats;
  assert.equal(s.received, 4);
  assert.equal(s.deliveredGetAutoAck, 1);
  assert.equal(s.deliveredGetManualAck, 2);
  assert.equal(s.deliveredConsumeAutoAck, 2);
  assert.equal(s.getEmpty, 2);
  assert.equal(s.redelivered, 1);
  assert.equal(s.acknowledged, 1);
  const q = server.broker.vhost('/').queues.get('q')!.stats;
  assert.deepEqual(
    {
      get: q.get,
      getNoAck: q.getNoAck,
      deliverNoAck: q.deliverNoAck,
      getEmpty: q.getEmpty,
      redeliver: q.redeliver,
      ack: q.ack,
    },
    { get: 2, getNoAck: 1, deliverNoAck: 2, getEmpty: 2, redeliver: 1, ack: 1 },
  );
});

void test('stats: dead-lettering by reason, and drops of queues without a dead-letter exchange', async (t) => {
  const { url, server } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange('dlx', 'fanout');
  await ch.assertQueue('dlq');
  await ch.bindQueue('dlq', 'dlx', '');
  await ch.assertQueue('work', {
    arguments: { 'x-dead-letter-exchange': 'dlx', 'x-max-length': 2 },
  });
  await ch.assertQueue('plain');
  for (let i = 0; i < 3; i++) ch.sendToQueue('work', Buffer.from(`w${i}`)); // one over: maxlen
  ch.sendToQueue('work', Buffer.from('ttl'), { expiration: '0' }); // expires on arrival
  ch.sendToQueue('plain', Buffer.from('p'));
  await ch.checkQueue('work');
  const w = await ch.get('work');
  const p = await ch.get('plain');
  assert.ok(w !== false && p !== false);
  ch.nack(w, false, false);
  ch.reject(p, false);
  await ch.checkQueue('work');
  const s = server.broker.stats();
  assert.deepEqual(
    { ...s.deadLettered },
    { rejected: 1, expired: 1, maxlen: 1, delivery_limit: 0 },
  );
  assert.deepEqual(
    { ...s.deadLetterDropped },
    { rejected: 1, expired: 0, maxlen: 0, delivery_limit: 0 },
  );
  assert.equal(s.deadLetteredTotal(), 3);
  const queues = server.broker.vhost('/').queues;
  assert.equal(queues.get('work')!.stats.deadLettered, 3);
  assert.equal(queues.get('dlq')!.stats.publish, 3);
  assert.equal((await ch.checkQueue('dlq')).messageCount, 3);
});

void test('stats: a quorum queue delivery limit counts under quorum dead-letterings', async (t) => {
  const { url, server } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('qq', {
    durable: true,
    arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 0 },
  });
  ch.sendToQueue('qq', Buffer.from('x'));
  await ch.checkQueue('qq');
  const m = await ch.get('qq');
  assert.ok(m !== false);
  ch.nack(m, false, true);
  await ch.checkQueue('qq');
  const s = server.broker.stats();
  assert.equal(s.quorumDeadLetterDropped.delivery_limit, 1);
  assert.equal(s.deadLetterDropped.delivery_limit, 0);
});

void test('stats: unroutable publishes are dropped or, when mandatory, returned', async (t) => {
  const { url, server } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  let returned = 0;
  ch.on('return', () => void returned++);
  await ch.assertExchange('x', 'direct');
  await ch.assertQueue('bound');
  await ch.bindQueue('bound', 'x', 'k');
  ch.publish('x', 'k', Buffer.from('routed'));
  ch.publish('x', 'nowhere', Buffer.from('dropped'));
  ch.publish('x', 'nowhere', Buffer.from('returned'), { mandatory: true });
  ch.publish('x', 'nowhere', Buffer.from('returned'), { mandatory: true });
  await ch.waitForConfirms();
  await until(() => returned === 2, 'two basic.return');
  const s = server.broker.stats();
  assert.deepEqual(
    {
      received: s.received,
      routed: s.routed,
      dropped: s.unroutableDropped,
      returned: s.unroutableReturned,
      confirmed: s.confirmed,
    },
    { received: 4, routed: 1, dropped: 1, returned: 2, confirmed: 4 },
  );
});

void test('stats: connection, channel and queue churn', async (t) => {
  const { url, server } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  const other = await conn.createChannel();
  await other.close();
  await ch.assertQueue('a');
  await ch.assertQueue('a'); // declared again, not created
  await ch.assertQueue('', { exclusive: true });
  await ch.checkQueue('a'); // passive: not a declare
  await ch.deleteQueue('a');
  const second = await connect(t, url);
  await second.close();
  const s = server.broker.stats();
  assert.deepEqual(
    {
      connectionsOpened: s.connectionsOpened,
      connectionsClosed: s.connectionsClosed,
      channelsOpened: s.channelsOpened,
      channelsClosed: s.channelsClosed,
      queuesDeclared: s.queuesDeclared,
      queuesCreated: s.queuesCreated,
      queuesDeleted: s.queuesDeleted,
    },
    {
      connectionsOpened: 2,
      connectionsClosed: 1,
      channelsOpened: 2,
      channelsClosed: 1,
      queuesDeclared: 3,
      queuesCreated: 2,
      queuesDeleted: 1,
    },
  );
  await conn.close(); // its exclusive queue goes with it
  await until(() => server.broker.stats().connectionsClosed === 2, 'the connection closed');
  const after = server.broker.stats();
  assert.equal(after.channelsClosed, 2);
  assert.equal(after.queuesDeleted, 2);
});

void test('stats: internal connections (the management API) are not counted, their publishes are', async (t) => {
  const { server } = await startBroker(t);
  const broker = server.broker;
  const c = broker.connect({ user: 'guest', protocol: 'http', internal: true });
  const s = c.openSession({ deliver: () => false, consumerCancelled: () => {} });
  s.declareQueue('h', {});
  s.publish('', 'h', new Message('', 'h', Buffer.alloc(0), Buffer.from('x'), false));
  c.close();
  const st = broker.stats();
  assert.deepEqual(
    [st.connectionsOpened, st.connectionsClosed, st.channelsOpened, st.channelsClosed],
    [0, 0, 0, 0],
  );
  assert.equal(st.received, 1);
  assert.equal(st.routed, 1);
});
