/** Edge cases of the failure policies found in review (issue 9), each once a real bug. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlRequest } from '../../src/protocol/control/client.js';
import { nextMessage, openConfirmChannel } from '../helpers/amqp-raw.js';
import { until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

void test('redrive into a full reject-publish queue leaves the message in the DLQ (skipped: queue-full)', async (t) => {
  const { url, server } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('dlq', { durable: true });
  await ch.assertQueue('work', {
    durable: true,
    arguments: {
      'x-max-length': 1,
      'x-overflow': 'reject-publish',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'dlq',
    },
  });
  ch.sendToQueue('work', Buffer.from('a'), { persistent: true });
  await ch.waitForConfirms();
  ch.reject(await nextMessage(ch, 'work'), false);
  await until(async () => (await ch.checkQueue('dlq')).messageCount === 1, 'dead-lettered');
  ch.sendToQueue('work', Buffer.from('filler'), { persistent: true });
  await ch.waitForConfirms();
  const r = await controlRequest(server.controlSocket!, {
    op: 'redrive',
    vhost: '/',
    queue: 'dlq',
  });
  assert.equal(r.moved, 0);
  assert.deepEqual(r.skippedBy, { 'queue-full': 1 });
  assert.equal((await ch.checkQueue('dlq')).messageCount, 1);
  assert.equal((await ch.checkQueue('work')).messageCount, 1);
});

void test('a reject-publish-dlx queue dead-lettering into itself: no stack overflow, the connection survives, memory matches the journal', async (t) => {
  const b = await startBroker(t);
  const conn = await connect(t, b.url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('loop', {
    durable: true,
    arguments: {
      'x-max-length': 1,
      'x-overflow': 'reject-publish-dlx',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'loop',
    },
  });
  ch.sendToQueue('loop', Buffer.from('m1'), { persistent: true });
  await ch.waitForConfirms();
  const m = await nextMessage(ch, 'loop');
  ch.sendToQueue('loop', Buffer.from('m2'), { persistent: true });
  await ch.waitForConfirms();
  ch.reject(m, false);
  // The channel is still usable: a round trip after the reject.
  const before = (await ch.checkQueue('loop')).messageCount;
  await conn.close();
  await b.restart();
  const conn2 = await connect(t, b.url);
  const ch2 = await conn2.createChannel();
  assert.equal((await ch2.checkQueue('loop')).messageCount, before, 'journal agrees with memory');
});

void test('failure counts above 31 survive paging out at a restart', async (t) => {
  const b = await startBroker(t, { bodyBudget: 64 * 1024 });
  const conn = await connect(t, b.url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('poison', {
    durable: true,
    arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 40 },
  });
  const big = Buffer.alloc(16 * 1024, 1);
  for (let i = 0; i < 20; i++) ch.sendToQueue('poison', big, { persistent: true });
  ch.sendToQueue('poison', Buffer.from('P'), { persistent: true });
  await ch.waitForConfirms();
  const fillers = [];
  for (let i = 0; i < 20; i++) fillers.push(await nextMessage(ch, 'poison'));
  for (let i = 0; i < 35; i++) {
    const m = await nextMessage(ch, 'poison');
    assert.equal(m.content.toString(), 'P');
    ch.nack(m, false, true);
  }
  for (const f of fillers) ch.ack(f);
  await ch.checkQueue('poison'); // a round trip: the acks are in
  await conn.close();
  await b.restart();
  const conn2 = await connect(t, b.url);
  const ch2 = await conn2.createChannel();
  const p = await nextMessage(ch2, 'poison');
  assert.equal(p.content.toString(), 'P');
  assert.equal(p.properties.headers?.['x-delivery-count'], 35);
});

void test('TTL 0: a burst reaches a consumer with credit for all of it', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('ttl0', { arguments: { 'x-message-ttl': 0 } });
  let got = 0;
  await ch.consume('ttl0', () => void got++, { noAck: true });
  const pub = await openConfirmChannel(conn);
  for (let i = 0; i < 10; i++) pub.sendToQueue('ttl0', Buffer.from(String(i)));
  await pub.waitForConfirms();
  await until(() => got === 10, 'all 10 delivered', 5000);
  // With prefetch 3 and no acks, only three fit; the rest expire.
  const c2 = await conn.createChannel();
  await c2.assertQueue('ttl0b', { arguments: { 'x-message-ttl': 0 } });
  await c2.prefetch(3);
  let got2 = 0;
  await c2.consume('ttl0b', () => void got2++);
  for (let i = 0; i < 10; i++) pub.sendToQueue('ttl0b', Buffer.from(String(i)));
  await pub.waitForConfirms();
  await until(async () => (await pub.checkQueue('ttl0b')).messageCount === 0, 'the rest expired');
  assert.equal(got2, 3);
});

void test('x-single-active-consumer false (the default) is accepted', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('sac', { arguments: { 'x-single-active-consumer': false } });
});
