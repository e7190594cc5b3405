import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/core/message.js';
import { encodeProperties } from '../../src/protocol/amqp/generated/properties.js';
import type { StoreOp } from '../../src/store/store.js';
import { collectingSession, msg, openBroker } from '../helpers/core.js';

void test('transaction: a commit is one store commit across queues, acks and dead-letter moves', async (t) => {
  const o = await openBroker(t);
  const broker = o.broker;
  const { session } = collectingSession(broker);
  session.declareExchange('dlx', 'fanout', { durable: true });
  session.declareQueue('dlq', { durable: true });
  session.bind('dlx', 'dlq', 'queue', '');
  session.declareQueue('in', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx' } });
  session.declareExchange('fan', 'fanout', { durable: true });
  for (const q of ['o1', 'o2']) {
    session.declareQueue(q, { durable: true });
    session.bind('fan', q, 'queue', '');
  }
  // Persistent in its property bytes too, so the dead-lettered copy stays persistent.
  const props = encodeProperties({ deliveryMode: 2 });
  for (const body of ['ack me', 'reject me'])
    session.publish('', 'in', new Message('', 'in', props, Buffer.from(body), true));
  const a = session.get('in', false)!;
  const r = session.get('in', false)!;

  // Watch the real store: every write of the commit must come as one `commit`.
  const store = broker.journal.store;
  const commits: (readonly StoreOp[])[] = [];
  let singles = 0;
  const commit = store.commit.bind(store);
  const enqueue = store.enqueue.bind(store);
  const settle = store.settle.bind(store);
  store.commit = (ops) => {
    commits.push(ops);
    commit(ops);
  };
  store.enqueue = (...args) => {
    singles++;
    enqueue(...args);
  };
  store.settle = (...args) => {
    singles++;
    settle(...args);
  };

  session.selectTx();
  session.publish('fan', '', msg('result 1'));
  session.publish('fan', '', msg('result 2'));
  session.publish('', 'o1', msg('transient', false));
  session.ack(a.tag, false);
  session.nack(r.tag, false, false);
  assert.equal(session.queue('o1').messageCount, 0);
  assert.equal(session.queue('dlq').messageCount, 0);
  assert.equal(commits.length + singles, 0, 'nothing written before commit');
  const err = await new Promise<Error | undefined>((resolve) => session.commitTx(resolve));
  assert.equal(err, undefined);
  assert.equal(singles, 0);
  assert.equal(commits.length, 1);
  const kinds = commits[0]!.map((op) => op.op).sort();
  // Two fanned-out publishes, the ack's settle, the dead-letter enqueue and its settle; the
  // transient message is not journaled.
  assert.deepEqual(kinds, ['enqueue', 'enqueue', 'enqueue', 'settle', 'settle']);
  assert.equal(session.queue('o1').messageCount, 3);
  assert.equal(session.queue('o2').messageCount, 2);
  assert.equal(session.queue('dlq').messageCount, 1);
  Object.assign(store, { commit, enqueue, settle });

  const again = await o.reopen();
  const s2 = collectingSession(again).session;
  assert.equal(s2.queue('in').messageCount, 0);
  assert.equal(s2.queue('o1').messageCount, 2);
  assert.equal(s2.queue('o2').messageCount, 2);
  assert.equal(s2.queue('dlq').messageCount, 1);
});

void test('transaction: rollback puts held settles back in tag order; close requeues them', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.declareQueue('q', {});
  for (let i = 0; i < 3; i++) session.publish('', 'q', msg(`m${i}`, false));
  const ds = [0, 1, 2].map(() => session.get('q', false)!);
  session.selectTx();
  session.ack(ds[2]!.tag, false);
  session.ack(ds[0]!.tag, false);
  assert.deepEqual([...session.unacked.keys()], [ds[1]!.tag]);
  assert.throws(() => session.ack(ds[0]!.tag, false), { replyCode: 406 });
  session.rollbackTx();
  assert.deepEqual(
    [...session.unacked.keys()],
    ds.map((d) => d.tag),
  );
  session.ack(ds[1]!.tag, false);
  session.close();
  assert.equal(broker.vhost().queues.get('q')!.messageCount, 3);
});

void test('transaction: confirm and tx exclude each other; commit needs select', async (t) => {
  const { broker } = await openBroker(t);
  const a = collectingSession(broker).session;
  assert.throws(() => a.commitTx(() => {}), {
    replyCode: 406,
    message: 'channel is not transactional',
  });
  assert.throws(() => a.rollbackTx(), { replyCode: 406 });
  a.selectTx();
  assert.throws(() => a.enableConfirms(), { message: 'cannot switch from tx to confirm mode' });
  const b = collectingSession(broker).session;
  b.enableConfirms();
  assert.throws(() => b.selectTx(), { message: 'cannot switch from confirm to tx mode' });
});

void test('transaction: a commit into a paged-out backlog pages by store reference; acks free it all', async (t) => {
  const { broker } = await openBroker(t, { bodyBudget: 32 * 1024, segmentSize: 256 * 1024 });
  const { session } = collectingSession(broker);
  session.declareQueue('deep', { durable: true });
  const body = 'x'.repeat(1024);
  for (let i = 0; i < 100; i++) session.publish('', 'deep', msg(`a${i} ${body}`));
  session.selectTx();
  for (let i = 0; i < 100; i++) session.publish('', 'deep', msg(`t${i} ${body}`));
  assert.equal(session.queue('deep').messageCount, 100);
  await new Promise<Error | undefined>((resolve) => session.commitTx(resolve));
  assert.equal(session.queue('deep').messageCount, 200);
  assert.equal(broker.journal.store.stats().liveMessages, 200);
  // Read everything back (paged ones by reference) and ack it in one more commit.
  const got: string[] = [];
  for (;;) {
    const d = await session.getOrWait('deep', false);
    if (d === undefined) break;
    got.push(d.message.body!.toString().split(' ')[0]!);
    session.ack(d.tag, false);
  }
  assert.equal(got.length, 200);
  assert.deepEqual(got.slice(99, 101), ['a99', 't0']);
  await new Promise<Error | undefined>((resolve) => session.commitTx(resolve));
  assert.equal(broker.journal.store.stats().liveMessages, 0);
});
