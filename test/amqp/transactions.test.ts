// AMQP transactions (tx.select / tx.commit / tx.rollback) through amqplib (tx.* by its generic
// `rpc`, test/helpers/amqp-raw.ts). Semantics as RabbitMQ's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import {
  confirmSelect,
  nextChannelError,
  txCommit,
  txRollback,
  txSelect,
  openChannel,
  openConfirmChannel,
  withDlq,
  within,
} from '../helpers/amqp-raw.js';
import { until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

async function count(ch: amqp.Channel, q: string): Promise<number> {
  return (await ch.checkQueue(q)).messageCount;
}

async function getOne(ch: amqp.Channel, q: string): Promise<amqp.GetMessage> {
  const m = await ch.get(q);
  assert.ok(m !== false, `a message in '${q}'`);
  return m;
}

async function txChannel(conn: amqp.ChannelModel): Promise<amqp.Channel> {
  const ch = await openChannel(conn);
  await txSelect(ch);
  return ch;
}

const persistent = { persistent: true };

void test('tx: publishes are invisible until commit, then all there (and survive a restart)', async (t) => {
  const b = await startBroker(t);
  const conn = await connect(t, b.url);
  const ch = await txChannel(conn);
  await ch.assertQueue('txq', { durable: true });
  for (let i = 0; i < 3; i++) ch.publish('', 'txq', Buffer.from(`m${i}`), persistent);
  const other = await openChannel(await connect(t, b.url));
  // A round trip on the publishing channel: the publishes have been handled.
  await ch.checkQueue('txq');
  assert.equal(await count(other, 'txq'), 0);
  assert.equal(await other.get('txq'), false);
  // A consumer on another connection gets nothing before commit either.
  const got: string[] = [];
  await other.consume('txq', (m) => {
    if (m) got.push(m.content.toString());
  });
  await other.checkQueue('txq');
  assert.deepEqual(got, []);
  await txCommit(ch);
  await until(() => got.length === 3, 'the committed messages delivered');
  assert.deepEqual(got, ['m0', 'm1', 'm2']);

  // Committed is durable: a second commit's messages survive a restart.
  const ch2 = await txChannel(conn);
  ch2.publish('', 'txq', Buffer.from('late'), persistent);
  await txCommit(ch2);
  await conn.close();
  await b.restart();
  const after = await openChannel(await connect(t, b.url));
  // The three delivered ones were never acked: they come back too.
  assert.equal(await count(after, 'txq'), 4);
});

void test('tx: rollback discards publishes; the channel stays transactional', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await txChannel(conn);
  await ch.assertQueue('rq');
  ch.publish('', 'rq', Buffer.from('dropped'));
  await txRollback(ch);
  assert.equal(await count(ch, 'rq'), 0);
  ch.publish('', 'rq', Buffer.from('kept'));
  assert.equal(await count(ch, 'rq'), 0, 'still transactional after a rollback');
  await txCommit(ch);
  assert.equal((await getOne(ch, 'rq')).content.toString(), 'kept');
  // An empty commit and an empty rollback are fine.
  await txCommit(ch);
  await txRollback(ch);
});

void test('tx: a rolled-back ack leaves the message unacked; channel close requeues it', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const setup = await openChannel(conn);
  await setup.assertQueue('aq', { durable: true });
  setup.sendToQueue('aq', Buffer.from('work'), persistent);
  const ch = await txChannel(conn);
  const m = await getOne(ch, 'aq');
  ch.ack(m);
  await txRollback(ch);
  // Still unacked: not ready for anyone, and acking it again is allowed (the tag is live).
  assert.equal(await count(setup, 'aq'), 0);
  ch.ack(m);
  await txRollback(ch);
  await ch.close();
  // Closing the channel requeued it, marked redelivered.
  const again = await getOne(setup, 'aq');
  assert.equal(again.content.toString(), 'work');
  assert.equal(again.fields.redelivered, true);
  setup.ack(again);
});

void test('tx: acks take effect at commit; a committed ack is final', async (t) => {
  const b = await startBroker(t);
  const conn = await connect(t, b.url);
  const ch = await txChannel(conn);
  await ch.assertQueue('cq', { durable: true });
  const pub = await openConfirmChannel(conn);
  for (let i = 0; i < 3; i++) pub.sendToQueue('cq', Buffer.from(`c${i}`), persistent);
  await pub.waitForConfirms();
  const a = await getOne(ch, 'cq');
  const b2 = await getOne(ch, 'cq');
  ch.ack(b2, true); // multiple: both
  await txCommit(ch);
  await ch.close();
  assert.equal(await count(pub, 'cq'), 1);
  assert.ok(a.fields.deliveryTag < b2.fields.deliveryTag);
  await conn.close();
  await b.restart();
  const after = await openChannel(await connect(t, b.url));
  assert.equal(await count(after, 'cq'), 1);
  assert.equal((await getOne(after, 'cq')).content.toString(), 'c2');
});

void test('tx: an ack of an unknown or already-acked tag is a 406 at once, not at commit', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await txChannel(conn);
  await ch.assertQueue('uq');
  ch.sendToQueue('uq', Buffer.from('x'));
  await txCommit(ch);
  const m = await getOne(ch, 'uq');
  ch.ack(m);
  const err = nextChannelError(ch);
  ch.ack(m); // held by the transaction already: no longer unacked
  const e = await within(err, 'the channel error');
  assert.equal(e.code, 406);
  assert.match(e.message, /unknown delivery tag/);
  // The channel closed with its transaction: the message is back.
  const other = await openChannel(conn);
  await until(async () => (await count(other, 'uq')) === 1, 'the message requeued');
});

void test('tx: nack with requeue and reject with a DLX happen at commit', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await txChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('work', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx' } });
  ch.sendToQueue('work', Buffer.from('poison'), persistent);
  ch.sendToQueue('work', Buffer.from('retry'), persistent);
  await txCommit(ch);
  const poison = await getOne(ch, 'work');
  const retry = await getOne(ch, 'work');
  ch.reject(poison, false);
  ch.nack(retry, false, true);
  const look = await openChannel(conn);
  assert.equal(await count(look, 'dlq'), 0);
  assert.equal(await count(look, 'work'), 0);
  await txCommit(ch);
  assert.equal(await count(look, 'dlq'), 1);
  assert.equal(await count(look, 'work'), 1);
  const d = await getOne(look, 'dlq');
  assert.equal(d.content.toString(), 'poison');
  const death = (
    d.properties.headers?.['x-death'] as unknown as Array<Record<string, unknown>>
  )[0]!;
  assert.equal(death.reason, 'rejected');
  assert.equal(death.queue, 'work');
  const r = await getOne(look, 'work');
  assert.equal(r.content.toString(), 'retry');
  assert.equal(r.fields.redelivered, true);
});

void test('tx: one commit spans several queues, publishes and acks (consume → produce)', async (t) => {
  const b = await startBroker(t);
  const conn = await connect(t, b.url);
  const ch = await txChannel(conn);
  await ch.assertExchange('fan', 'fanout', { durable: true });
  for (const q of ['in', 'o1', 'o2', 'o3']) await ch.assertQueue(q, { durable: true });
  for (const q of ['o1', 'o2', 'o3']) await ch.bindQueue(q, 'fan', '');
  ch.sendToQueue('in', Buffer.from('job'), persistent);
  await txCommit(ch);
  const job = await getOne(ch, 'in');
  ch.publish('fan', '', Buffer.from('result'), persistent);
  ch.ack(job);
  await txCommit(ch);
  await conn.close();
  await b.restart();
  const after = await openChannel(await connect(t, b.url));
  assert.equal(await count(after, 'in'), 0);
  for (const q of ['o1', 'o2', 'o3']) assert.equal(await count(after, q), 1, q);
});

void test('tx: mandatory returns come at commit, for queues gone by then too', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await txChannel(conn);
  await ch.assertQueue('soon-gone');
  const returned: string[] = [];
  ch.on('return', (m: amqp.Message) => returned.push(m.content.toString()));
  ch.publish('', 'nowhere', Buffer.from('unroutable'), { mandatory: true });
  ch.publish('', 'soon-gone', Buffer.from('orphan'), { mandatory: true });
  ch.publish('', 'nowhere', Buffer.from('not mandatory'));
  // Replies come in order: a return sent at publish time would have come before this.
  await ch.checkQueue('soon-gone');
  assert.deepEqual(returned, []);
  await ch.deleteQueue('soon-gone');
  await txCommit(ch);
  assert.deepEqual(returned, ['unroutable', 'orphan']);
});

void test('tx: publishes count for the queue only after commit; a redeclared queue gets them', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await txChannel(conn);
  await ch.assertQueue('re');
  ch.sendToQueue('re', Buffer.from('one'));
  assert.equal((await ch.assertQueue('re')).messageCount, 0);
  await ch.deleteQueue('re');
  await ch.assertQueue('re');
  await txCommit(ch);
  assert.equal((await ch.assertQueue('re')).messageCount, 1);
});

void test('tx: a closed channel rolls back its publishes', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await txChannel(conn);
  await ch.assertQueue('cl');
  ch.sendToQueue('cl', Buffer.from('lost'));
  await ch.close();
  const other = await openChannel(conn);
  assert.equal(await count(other, 'cl'), 0);
});

void test('tx: confirm and tx modes exclude each other; commit/rollback need tx.select', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const cases: [string, (ch: amqp.Channel) => Promise<unknown>, string][] = [
    ['tx.commit without select', txCommit, 'PRECONDITION_FAILED - channel is not transactional'],
    [
      'tx.rollback without select',
      txRollback,
      'PRECONDITION_FAILED - channel is not transactional',
    ],
    [
      'confirm.select on a tx channel',
      async (ch) => {
        await txSelect(ch);
        await confirmSelect(ch);
      },
      'PRECONDITION_FAILED - cannot switch from tx to confirm mode',
    ],
  ];
  for (const [what, run, text] of cases) {
    const ch = await openChannel(conn);
    const err = nextChannelError(ch);
    await run(ch).catch(() => {});
    const e = await within(err, what);
    assert.equal(e.code, 406, what);
    assert.ok(e.message.includes(text), `${what}: ${e.message}`);
  }
  const confirm = await openConfirmChannel(conn);
  const err = nextChannelError(confirm);
  await txSelect(confirm).catch(() => {});
  const e = await within(err, 'tx.select on a confirm channel');
  assert.equal(e.code, 406);
  assert.ok(e.message.includes('PRECONDITION_FAILED - cannot switch from confirm to tx mode'));
  // tx.select twice is fine.
  const ch = await txChannel(conn);
  await txSelect(ch);
});

void test('tx: 10,000 persistent publishes in one commit', async (t) => {
  const b = await startBroker(t);
  const conn = await connect(t, b.url);
  const ch = await txChannel(conn);
  await ch.assertQueue('big', { durable: true });
  const body = Buffer.alloc(100, 'x');
  for (let i = 0; i < 10_000; i++) ch.sendToQueue('big', body, persistent);
  assert.equal(await count(ch, 'big'), 0);
  await txCommit(ch);
  assert.equal(await count(ch, 'big'), 10_000);
  await conn.close();
  await b.restart();
  const after = await openChannel(await connect(t, b.url));
  assert.equal(await count(after, 'big'), 10_000);
});

void test('tx: held acks still count against the consumer prefetch until commit', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await txChannel(conn);
  await ch.assertQueue('pf');
  for (let i = 0; i < 3; i++) ch.sendToQueue('pf', Buffer.from(`p${i}`));
  await txCommit(ch);
  await ch.prefetch(1);
  const got: amqp.ConsumeMessage[] = [];
  await ch.consume('pf', (m) => {
    if (m) got.push(m);
  });
  await until(() => got.length === 1, 'the first delivery');
  ch.ack(got[0]!);
  await ch.checkQueue('pf');
  assert.equal(got.length, 1, 'no credit back before commit');
  await txCommit(ch);
  await until(() => got.length === 2, 'the second delivery after commit');
});
