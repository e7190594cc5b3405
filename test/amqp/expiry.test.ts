import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { deathsOf, withDlq, nextMessage, openConfirmChannel } from '../helpers/amqp-raw.js';
import { expectNothingFor, until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

void test('x-message-ttl: expired messages are dead-lettered (reason expired), never delivered', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('ttl', {
    durable: true,
    arguments: { 'x-message-ttl': 100, 'x-dead-letter-exchange': 'dlx' },
  });
  for (let i = 0; i < 3; i++) ch.sendToQueue('ttl', Buffer.from(`m${i}`), { persistent: true });
  await ch.waitForConfirms();
  const got: string[] = [];
  for (let i = 0; i < 3; i++) {
    const d = await nextMessage(ch, 'dlq');
    got.push(d.content.toString());
    const x = deathsOf(d)[0]!;
    assert.equal(x.reason, 'expired');
    assert.equal(x.queue, 'ttl');
    assert.equal(x['original-expiration'], undefined, 'queue TTL is not a per-message one');
    assert.equal(d.properties.headers?.['x-first-death-reason'], 'expired');
    ch.ack(d);
  }
  assert.deepEqual(got, ['m0', 'm1', 'm2'], 'in order');
  assert.equal((await ch.checkQueue('ttl')).messageCount, 0);
  // A consumer that arrives after expiry gets nothing.
  const seen: string[] = [];
  await ch.consume('ttl', (m) => m && seen.push(m.content.toString()), { noAck: true });
  await expectNothingFor(150, () => assert.deepEqual(seen, []));
});

void test('x-message-ttl: basic.get never returns an expired message; unexpired ones are delivered', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('short', { arguments: { 'x-message-ttl': 50 } });
  await ch.assertQueue('long', { arguments: { 'x-message-ttl': 60000 } });
  ch.sendToQueue('short', Buffer.from('gone'));
  ch.sendToQueue('long', Buffer.from('kept'));
  await ch.waitForConfirms();
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(await ch.get('short', { noAck: true }), false);
  const m = await ch.get('long', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.toString(), 'kept');
});

void test('per-message expiration: dead-lettered with original-expiration, the property dropped', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('wait', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx' } });
  ch.sendToQueue('wait', Buffer.from('later'), { persistent: true, expiration: '80' });
  ch.sendToQueue('wait', Buffer.from('forever'), { persistent: true });
  await ch.waitForConfirms();
  const d = await nextMessage(ch, 'dlq');
  assert.equal(d.content.toString(), 'later');
  assert.equal(d.properties.expiration, undefined);
  const x = deathsOf(d)[0]!;
  assert.equal(x.reason, 'expired');
  assert.equal(x['original-expiration'], '80');
  assert.equal((await ch.checkQueue('wait')).messageCount, 1, 'the one without expiration stays');
});

void test('TTL 0: delivered only to a consumer that can take it at once, else expired on arrival', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('now', {
    arguments: { 'x-message-ttl': 0, 'x-dead-letter-exchange': 'dlx' },
  });
  // No consumer: expires on arrival.
  ch.sendToQueue('now', Buffer.from('nobody'));
  await ch.waitForConfirms();
  const d = await nextMessage(ch, 'dlq');
  assert.equal(d.content.toString(), 'nobody');
  assert.equal(deathsOf(d)[0]!.reason, 'expired');
  ch.ack(d);
  assert.equal((await ch.checkQueue('now')).messageCount, 0);
  // A consumer with credit: delivered.
  const c = await conn.createChannel();
  const seen: string[] = [];
  await c.consume('now', (m) => m && seen.push(m.content.toString()), { noAck: true });
  ch.sendToQueue('now', Buffer.from('taken'));
  await ch.waitForConfirms();
  await until(() => seen.length === 1, 'the TTL-0 delivery');
  assert.deepEqual(seen, ['taken']);
  assert.equal((await ch.checkQueue('dlq')).messageCount, 0);
});

void test('expiry reaches messages behind an unexpired head only at the head (RabbitMQ order)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('mixed', { arguments: { 'x-dead-letter-exchange': 'dlx' } });
  ch.sendToQueue('mixed', Buffer.from('slow'), { expiration: '300' });
  ch.sendToQueue('mixed', Buffer.from('fast'), { expiration: '20' });
  await ch.waitForConfirms();
  const first = await nextMessage(ch, 'dlq');
  const second = await nextMessage(ch, 'dlq');
  assert.deepEqual([first.content.toString(), second.content.toString()], ['slow', 'fast']);
});

void test('retry via a TTL wait queue (the pattern rascal and others build): each round adds to x-death', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertExchange('work.x', 'direct', { durable: true });
  await ch.assertExchange('retry.x', 'direct', { durable: true });
  await ch.assertQueue('work', {
    durable: true,
    arguments: { 'x-dead-letter-exchange': 'retry.x' },
  });
  await ch.bindQueue('work', 'work.x', 'job');
  await ch.assertQueue('work.wait', {
    durable: true,
    arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': 'work.x' },
  });
  await ch.bindQueue('work.wait', 'retry.x', 'job');
  ch.publish('work.x', 'job', Buffer.from('flaky'), { persistent: true, messageId: 'j1' });
  await ch.waitForConfirms();
  const c = await conn.createChannel();
  const attempts: amqp.ConsumeMessage[] = [];
  await c.consume('work', (m) => {
    if (m === null) return;
    attempts.push(m);
    if (attempts.length < 3) c.nack(m, false, false);
    else c.ack(m);
  });
  await until(() => attempts.length === 3, 'three attempts');
  const last = attempts[2]!;
  assert.equal(last.properties.messageId, 'j1');
  const deaths = deathsOf(last);
  const rejected = deaths.find((d) => d.queue === 'work' && d.reason === 'rejected')!;
  const expired = deaths.find((d) => d.queue === 'work.wait' && d.reason === 'expired')!;
  assert.equal(rejected.count, 2);
  assert.equal(expired.count, 2);
  assert.equal(last.properties.headers?.['x-first-death-reason'], 'rejected');
  await expectNothingFor(150, () => assert.equal(attempts.length, 3));
});

void test('x-expires: an unused queue is deleted; a consumer keeps it alive', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('unused', { arguments: { 'x-expires': 100 } });
  await ch.assertQueue('used', { arguments: { 'x-expires': 100 } });
  await ch.consume('used', () => {});
  ch.sendToQueue('unused', Buffer.from('lost with the queue'));
  // Probe without using it (a passive declare would renew the lease): a mandatory publish
  // comes back once the queue is gone; publishing is not a use.
  let returned = false;
  ch.on('return', () => (returned = true));
  await until(
    () => {
      ch.publish('', 'unused', Buffer.from('probe'), { mandatory: true });
      return returned;
    },
    'the unused queue to expire',
    5000,
    20,
  );
  await new Promise((r) => setTimeout(r, 150));
  assert.equal((await ch.checkQueue('used')).consumerCount, 1, 'a queue with a consumer stays');
});

void test('x-message-ttl counts from arrival across a restart, also for paged-out messages', async (t) => {
  const b = await startBroker(t, { bodyBudget: 4096 });
  let conn = await connect(t, b.url);
  let ch = await openConfirmChannel(conn);
  await ch.assertQueue('ttl', { durable: true, arguments: { 'x-message-ttl': 400 } });
  await ch.assertQueue('kept', { durable: true, arguments: { 'x-message-ttl': 600000 } });
  const body = Buffer.alloc(1024, 1);
  for (let i = 0; i < 20; i++) {
    ch.sendToQueue('ttl', body, { persistent: true });
    ch.sendToQueue('kept', body, { persistent: true });
  }
  await ch.waitForConfirms();
  await conn.close();
  await b.server.stop();
  await new Promise((r) => setTimeout(r, 500));
  await b.restart();
  conn = await connect(t, b.url);
  ch = await openConfirmChannel(conn);
  assert.equal(await ch.get('ttl', { noAck: true }), false, 'expired while the broker was down');
  await until(async () => (await ch.checkQueue('ttl')).messageCount === 0, 'all expired');
  assert.equal((await ch.checkQueue('kept')).messageCount, 20);
});
