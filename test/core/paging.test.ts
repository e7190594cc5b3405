import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectingSession, eventually, msg, openBroker, synced, tick } from '../helpers/core.js';

void test('paging: a backlog far past the body budget drains completely and in order', async (t) => {
  const { broker } = await openBroker(t, { bodyBudget: 64 * 1024, segmentSize: 256 * 1024 });
  const { session, received } = collectingSession(broker);
  const v = broker.vhost();
  v.declareQueue('big', { durable: true }, undefined);
  v.declareQueue('side', { durable: false }, undefined);
  const body = 'x'.repeat(1000);
  const N = 3000;
  for (let i = 0; i < N; i++) {
    // A transient message in the middle must keep its place behind paged ones.
    session.publish('', 'big', msg(`${i}:${body}`, i % 100 !== 50));
    if (i % 500 === 0) await synced(broker);
  }
  await synced(broker);
  // The budget, plus the transient messages parked in memory (they cannot be paged).
  assert.ok(
    broker.bodies.bytes <= 64 * 1024 + 31 * 1010,
    `bodies in memory: ${broker.bodies.bytes}`,
  );
  assert.equal(v.getQueue('big', undefined).messageCount, N);
  session.consume('big', { prefetch: 100 });
  const order: number[] = [];
  await eventually(async () => {
    for (const r of received.splice(0)) {
      order.push(Number(r.body.split(':')[0]));
      session.ack(r.tag, false);
    }
    await tick();
    assert.equal(order.length, N);
  });
  assert.deepEqual(
    order,
    Array.from({ length: N }, (_, i) => i),
  );
  assert.equal(v.getQueue('big', undefined).messageCount, 0);
});

void test('paging: paged-out messages survive a restart and come back in order; purge releases them', async (t) => {
  const { broker, reopen } = await openBroker(t, {
    bodyBudget: 32 * 1024,
    segmentSize: 128 * 1024,
  });
  const { session } = collectingSession(broker);
  broker.vhost().declareQueue('q', { durable: true }, undefined);
  broker.vhost().declareQueue('p', { durable: true }, undefined);
  for (let i = 0; i < 1000; i++) {
    session.publish('', 'q', msg(`m${i}:${'y'.repeat(500)}`));
    session.publish('', 'p', msg(`p${i}:${'z'.repeat(500)}`));
  }
  await synced(broker);
  assert.equal(broker.vhost().purgeQueue('p', undefined), 1000);
  await synced(broker);
  const b2 = await reopen();
  assert.equal(b2.vhost().getQueue('p', undefined).messageCount, 0);
  const { session: s2, received } = collectingSession(b2);
  assert.equal(b2.vhost().getQueue('q', undefined).messageCount, 1000);
  const got: string[] = [];
  for (let i = 0; i < 1000; i++) {
    // Paged messages are read back asynchronously: wait for the read rather than get-empty.
    const e = await s2.getOrWait('q', true);
    assert.ok(e, `message ${i}`);
    got.push(e.message.body!.toString().split(':')[0]!);
  }
  assert.equal(received.length, 0);
  assert.deepEqual(
    got,
    Array.from({ length: 1000 }, (_, i) => `m${i}`),
  );
});
