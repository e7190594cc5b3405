import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectingSession, eventually, msg, openBroker, synced, tick } from '../helpers/core.js';

void test('paged reads: basic.get waits for a read instead of answering empty, in order', async (t) => {
  const { broker } = await openBroker(t, { bodyBudget: 16 * 1024, segmentSize: 128 * 1024 });
  const { session } = collectingSession(broker);
  broker.vhost().declareQueue('g', { durable: true }, undefined);
  const N = 1500;
  for (let i = 0; i < N; i++) session.publish('', 'g', msg(`${i}:${'g'.repeat(400)}`));
  // Not synced yet: the first paged reads wait for their batch to be written.
  const got: number[] = [];
  for (let i = 0; i < N; i++) {
    const d = await session.getOrWait('g', true);
    assert.ok(d, `message ${i} answered empty`);
    got.push(Number(d.message.body!.toString().split(':')[0]));
  }
  assert.deepEqual(
    got,
    Array.from({ length: N }, (_, i) => i),
  );
  assert.equal(await session.getOrWait('g', true), undefined);
});

void test('paged reads: purge and delete with a read in flight settle paged messages by reference', async (t) => {
  const { broker, reopen } = await openBroker(t, {
    bodyBudget: 16 * 1024,
    segmentSize: 128 * 1024,
  });
  const { session, received } = collectingSession(broker);
  const v = broker.vhost();
  v.declareQueue('p', { durable: true }, undefined);
  v.declareQueue('d', { durable: true }, undefined);
  for (let i = 0; i < 2000; i++) {
    session.publish('', 'p', msg(`p${i}:${'p'.repeat(400)}`));
    session.publish('', 'd', msg(`d${i}:${'d'.repeat(400)}`));
  }
  await synced(broker);
  // Hold a few unacked so the purge cannot be one PURGE record, then drain into the paged part
  // so a read is under way when the purge comes.
  session.consume('p', { prefetch: 60 });
  await eventually(() => assert.equal(received.length, 60));
  const p = v.getQueue('p', undefined);
  const left = p.messageCount;
  assert.equal(v.purgeQueue('p', undefined), left);
  assert.equal(p.messageCount, 0);
  v.deleteQueue('d', {}, undefined);
  await tick();
  await synced(broker);
  const b2 = await reopen();
  // The 60 unacked ones come back (never acked); nothing purged or deleted does.
  assert.equal(b2.vhost().getQueue('p', undefined).messageCount, 60);
  assert.throws(() => b2.vhost().getQueue('d', undefined));
});

void test('paged reads: a queue id is never reused across restarts', async (t) => {
  const { broker, reopen } = await openBroker(t);
  const v = broker.vhost();
  const a = v.declareQueue('a', { durable: true }, undefined);
  const tmp = v.declareQueue('tmp', { durable: false }, undefined);
  assert.notEqual(a.id, tmp.id);
  const b2 = await reopen();
  const b = b2.vhost().declareQueue('b', { durable: true }, undefined);
  assert.ok(b.id > Math.max(a.id, tmp.id), `${b.id} after ${a.id}, ${tmp.id}`);
  assert.equal(b2.vhost().getQueue('a', undefined).id, a.id);
});

void test('paged reads: a queue deleted while a basic.get waits answers empty, not an error', async (t) => {
  const { broker } = await openBroker(t, { bodyBudget: 16 * 1024, segmentSize: 128 * 1024 });
  const { session } = collectingSession(broker);
  session.declareQueue('gd', { durable: true });
  for (let i = 0; i < 500; i++) session.publish('', 'gd', msg(`${i}:${'g'.repeat(400)}`));
  await synced(broker);
  // Drain the in-memory part so the next get must read from the store.
  let d;
  for (;;) {
    d = session.getOrWait('gd', true);
    if (d instanceof Promise) break;
    assert.ok(d !== undefined);
  }
  session.deleteQueue('gd');
  assert.equal(await d, undefined);
});

void test('paged reads: a store that refuses reads stops the reading, without spinning', async (t) => {
  const { broker } = await openBroker(t, { bodyBudget: 16 * 1024, segmentSize: 128 * 1024 });
  const errors: string[] = [];
  broker.onError = (_err, context) => errors.push(context);
  const { session, received } = collectingSession(broker);
  session.declareQueue('sf', { durable: true });
  for (let i = 0; i < 2000; i++) session.publish('', 'sf', msg(`${i}:${'s'.repeat(400)}`));
  await synced(broker);
  // A closed store rejects every load, as a failed one does.
  await broker.store.close();
  session.consume('sf', { noAck: true });
  // Timers still run: the rejected read is not retried from its own wake-up.
  await new Promise((r) => setTimeout(r, 200));
  const got = received.length;
  assert.ok(got < 2000, `only what was in memory is delivered (${got})`);
  assert.ok(
    errors.length >= 1 && errors.length < 5,
    `reported once, not in a loop: ${errors.length}`,
  );
  assert.equal(await session.getOrWait('sf', true), undefined);
});
