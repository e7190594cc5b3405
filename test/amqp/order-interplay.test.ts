// Issue 10's features together, as a user combines them: transactions with delayed
// exchanges, deduplication and message groups; priorities with a single active consumer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import {
  openChannel,
  openConfirmChannel,
  txCommit,
  txRollback,
  txSelect,
} from '../helpers/amqp-raw.js';
import { eventually, expectNothingFor } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

async function count(ch: amqp.Channel, q: string): Promise<number> {
  return (await ch.checkQueue(q)).messageCount;
}

async function bodies(ch: amqp.Channel, q: string): Promise<string[]> {
  const out: string[] = [];
  for (let m = await ch.get(q, { noAck: true }); m !== false; m = await ch.get(q, { noAck: true }))
    out.push(m.content.toString());
  return out;
}

void test('tx + delayed exchange: a delayed publish is held until commit, then delayed; rollback drops it', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertExchange('later', 'x-delayed-message', {
    durable: true,
    arguments: { 'x-delayed-type': 'direct' },
  });
  await ch.assertQueue('out', { durable: true });
  await ch.bindQueue('out', 'later', 'k');
  await txSelect(ch);
  ch.publish('later', 'k', Buffer.from('rolled-back'), {
    persistent: true,
    headers: { 'x-delay': 50 },
  });
  await txRollback(ch);
  const sent = Date.now();
  ch.publish('later', 'k', Buffer.from('kept'), { persistent: true, headers: { 'x-delay': 200 } });
  await txCommit(ch);
  const reader = await openChannel(conn);
  const got: { body: string; at: number }[] = [];
  await reader.consume(
    'out',
    (m) => m !== null && got.push({ body: m.content.toString(), at: Date.now() }),
    { noAck: true },
  );
  await eventually(() => assert.equal(got.length, 1));
  assert.equal(got[0]!.body, 'kept');
  // Not before its delay (counted from the publish, before the commit).
  assert.ok(got[0]!.at - sent >= 190, `delivered after ${got[0]!.at - sent} ms`);
  await expectNothingFor(150, () => assert.equal(got.length, 1));
});

void test('tx + deduplication: ids are taken at commit, in publish order; a rolled-back publish takes none', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertQueue('dd', { durable: true, arguments: { 'x-message-deduplication': true } });
  await txSelect(ch);
  const id = (v: string): amqp.Options.Publish => ({
    persistent: true,
    headers: { 'x-deduplication-header': v },
  });
  ch.sendToQueue('dd', Buffer.from('a1'), id('a'));
  ch.sendToQueue('dd', Buffer.from('a2'), id('a'));
  ch.sendToQueue('dd', Buffer.from('b1'), id('b'));
  ch.sendToQueue('dd', Buffer.from('r1'), id('r'));
  await txRollback(ch);
  ch.sendToQueue('dd', Buffer.from('a1'), id('a'));
  ch.sendToQueue('dd', Buffer.from('a2'), id('a'));
  ch.sendToQueue('dd', Buffer.from('b1'), id('b'));
  await txCommit(ch);
  const reader = await openConfirmChannel(conn);
  assert.equal(await count(reader, 'dd'), 2);
  // After the commit the ids are held for plain publishes too; 'r' was rolled back: free.
  reader.sendToQueue('dd', Buffer.from('a3'), id('a'));
  reader.sendToQueue('dd', Buffer.from('r2'), id('r'));
  await reader.waitForConfirms();
  assert.deepEqual(await bodies(reader, 'dd'), ['a1', 'b1', 'r2']);
});

void test('tx + message groups: a message acked inside a transaction holds its group until the commit', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('g', { durable: true });
  for (const b of ['A1', 'A2'])
    pub.sendToQueue('g', Buffer.from(b), { persistent: true, headers: { 'x-group-id': 'A' } });
  await pub.waitForConfirms();
  const ch = await openChannel(conn);
  await txSelect(ch);
  const a1 = await ch.get('g');
  assert.ok(a1 !== false && a1.content.toString() === 'A1');
  ch.ack(a1);
  // The ack is held: A1 is still out, so A2 is not deliverable yet.
  assert.equal(await pub.get('g'), false);
  await txCommit(ch);
  const a2 = await pub.get('g', { noAck: true });
  assert.ok(a2 !== false && a2.content.toString() === 'A2');
});

void test('priorities + single active consumer: the active consumer gets the highest priority first; the next inherits the order', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('ps', {
    arguments: { 'x-max-priority': 5, 'x-single-active-consumer': true },
  });
  for (const [b, p] of [
    ['low', 1],
    ['high', 5],
    ['mid', 3],
    ['high2', 5],
  ] as const)
    pub.sendToQueue('ps', Buffer.from(b), { priority: p });
  await pub.waitForConfirms();
  const chA = await conn.createChannel();
  await chA.prefetch(1);
  const gotA: string[] = [];
  await chA.consume('ps', (m) => m !== null && gotA.push(m.content.toString()));
  const chB = await conn.createChannel();
  const gotB: string[] = [];
  await chB.consume('ps', (m) => {
    if (m === null) return;
    gotB.push(m.content.toString() + (m.fields.redelivered ? '*' : ''));
    chB.ack(m);
  });
  await eventually(() => assert.deepEqual(gotA, ['high']));
  await expectNothingFor(100, () => assert.deepEqual(gotB, []));
  await chA.close();
  await eventually(() => assert.deepEqual(gotB, ['high*', 'high2', 'mid', 'low']));
});
