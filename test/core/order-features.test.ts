// Regressions from the review of issue 10's merged features (core, real journal).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Broker } from '../../src/core/broker.js';
import { collectingSession, eventually, hmsg, openBroker, synced, tick } from '../helpers/core.js';

const sleep = (ms: number): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

/** Wait until the delayed exchange `name` holds nothing more. */
async function allDue(broker: Broker, name: string): Promise<void> {
  await eventually(() =>
    assert.equal(broker.vhost().exchanges.get(name)!.delayed!.messageCount, 0),
  );
  await tick();
}

void test('single active consumer: basic.cancel of the active one hands its backlog over at once', async (t) => {
  const { broker } = await openBroker(t);
  const { session: a, received: ra } = collectingSession(broker);
  const { session: b, received: rb } = collectingSession(broker);
  a.declareQueue('sac', { durable: true, arguments: { 'x-single-active-consumer': true } });
  a.qos(1, false);
  const ca = a.consume('sac');
  b.consume('sac');
  for (const x of ['1', '2', '3']) a.publish('', 'sac', hmsg(x, {}));
  await tick();
  await sleep(20);
  assert.deepEqual(
    ra.map((r) => r.body),
    ['1'],
  );
  a.cancel(ca.tag);
  // No publish or settle after the cancel: the handover itself delivers.
  await eventually(() =>
    assert.deepEqual(
      rb.map((r) => r.body),
      ['2', '3'],
    ),
  );
});

void test('tx + x-max-length 1 reject-publish: a commit of 3 publishes enqueues 1 (the commit counts its own publishes)', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.declareQueue('lim', {
    durable: true,
    arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
  });
  session.selectTx();
  for (const x of ['1', '2', '3']) session.publish('', 'lim', hmsg(x, {}));
  const err = await new Promise<Error | undefined>((res) => session.commitTx(res));
  assert.equal(err, undefined);
  assert.equal(session.queue('lim').messageCount, 1, 'max-length 1 holds');
});

void test('a delayed exchange with x-message-deduplication routes a duplicate nowhere', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.declareExchange('dx', 'x-delayed-message', {
    durable: true,
    arguments: { 'x-delayed-type': 'fanout', 'x-message-deduplication': true },
  });
  session.declareQueue('q', { durable: true });
  session.bind('dx', 'q', 'queue', '');
  for (const x of ['a', 'b'])
    session.publish('dx', '', hmsg(x, { 'x-delay': 30, 'x-deduplication-header': 'id1' }));
  await allDue(broker, 'dx');
  assert.equal(session.queue('q').messageCount, 1, 'the duplicate is not routed');
});

void test('a deduplicating queue behind a delayed exchange drops a duplicate when it comes due', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.declareExchange('dx', 'x-delayed-message', {
    durable: true,
    arguments: { 'x-delayed-type': 'fanout' },
  });
  session.declareQueue('q', { durable: true, arguments: { 'x-message-deduplication': true } });
  session.bind('dx', 'q', 'queue', '');
  for (const x of ['a', 'b'])
    session.publish('dx', '', hmsg(x, { 'x-delay': 30, 'x-deduplication-header': 'id1' }));
  await allDue(broker, 'dx');
  assert.equal(session.queue('q').messageCount, 1, 'queue dedup applies to delayed copies');
});

void test('a durable delayed deduplicating exchange journals the id: a retry after a restart is a duplicate', async (t) => {
  const o = await openBroker(t);
  let broker = o.broker;
  let { session } = collectingSession(broker);
  session.declareExchange('dx', 'x-delayed-message', {
    durable: true,
    arguments: { 'x-delayed-type': 'fanout', 'x-message-deduplication': true },
  });
  session.declareQueue('q', { durable: true });
  session.bind('dx', 'q', 'queue', '');
  session.publish('dx', '', hmsg('a', { 'x-delay': 400, 'x-deduplication-header': 'id1' }));
  await synced(broker);
  broker = await o.reopen();
  ({ session } = collectingSession(broker));
  session.publish('dx', '', hmsg('b', { 'x-delay': 50, 'x-deduplication-header': 'id1' }));
  await allDue(broker, 'dx');
  assert.equal(session.queue('q').messageCount, 1, 'the retry after restart is a duplicate');
});

void test('drop-head counts messages set aside for busy groups: x-max-length holds', async (t) => {
  const { broker } = await openBroker(t);
  const { session: s1 } = collectingSession(broker);
  const { session: s2 } = collectingSession(broker);
  s1.declareQueue('g', {
    durable: true,
    arguments: { 'x-max-length': 2 },
  });
  s1.qos(1, false);
  s2.qos(1, false);
  s1.consume('g');
  s2.consume('g');
  for (let i = 0; i < 6; i++) {
    s1.publish('', 'g', hmsg(String(i), { 'x-group-id': 'G' }));
    await tick();
  }
  await sleep(10);
  const q = s1.queue('g');
  assert.ok(q.messageCount <= 2, `messageCount ${q.messageCount} > x-max-length 2`);
});

void test('exchange deduplication: a publish nacked by a full reject-publish queue takes no id, so its retry gets through', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  session.declareExchange('dd', 'fanout', {
    durable: true,
    arguments: { 'x-message-deduplication': true },
  });
  session.declareQueue('full', {
    durable: true,
    arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
  });
  session.bind('dd', 'full', 'queue', '');
  session.publish('', 'full', hmsg('filler', {}));
  const r1 = session.publish('dd', '', hmsg('m', { 'x-deduplication-header': 'id7' }));
  assert.ok(r1.rejected !== undefined, 'first try is refused (nack)');
  // The consumer makes room; the producer retries the nacked message.
  session.consume('full');
  await eventually(() => assert.equal(received.length, 1));
  session.ack(received[0]!.tag, false);
  const r2 = session.publish('dd', '', hmsg('m', { 'x-deduplication-header': 'id7' }));
  assert.equal(r2.duplicate, false, 'the retry of a nacked publish is no duplicate');
  await eventually(() =>
    assert.deepEqual(
      received.map((x) => x.body),
      ['filler', 'm'],
    ),
  );
});

void test('purge of a grouped queue: the group works again afterwards', async (t) => {
  const { broker } = await openBroker(t);
  const { session, received } = collectingSession(broker);
  session.declareQueue('g', { durable: true });
  session.consume('g');
  for (const x of ['1', '2', '3']) session.publish('', 'g', hmsg(x, { 'x-group-id': 'G' }));
  await eventually(() =>
    assert.deepEqual(
      received.map((x) => x.body),
      ['1'],
    ),
  );
  assert.equal(session.purgeQueue('g'), 2);
  session.publish('', 'g', hmsg('4', { 'x-group-id': 'G' }));
  session.ack(received[0]!.tag, false);
  await eventually(() =>
    assert.deepEqual(
      received.map((x) => x.body),
      ['1', '4'],
    ),
  );
  assert.equal(session.queue('g').messageCount, 0);
});

void test('a deduplication cache with a TTL drops expired ids as it goes, not only when full', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.declareQueue('dd', {
    durable: true,
    arguments: { 'x-message-deduplication': true, 'x-cache-ttl': 1, 'x-cache-size': 1_000_000 },
  });
  for (let i = 0; i < 50; i++) {
    session.publish('', 'dd', hmsg(String(i), { 'x-deduplication-header': `id${i}` }));
    await sleep(2);
  }
  const cache = broker.vhost().queues.get('dd')!.dedup!;
  assert.ok(cache.size < 10, `${cache.size} ids held with a 1 ms TTL`);
  assert.equal(session.queue('dd').messageCount, 50);
});

void test('x-cache-size above 10,000,000 and x-delayed-type x-delayed-message are refused with 406', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  assert.throws(
    () =>
      session.declareQueue('big', {
        arguments: { 'x-message-deduplication': true, 'x-cache-size': 4294967295 },
      }),
    (e: Error & { replyCode?: number }) => e.replyCode === 406 && /x-cache-size/.test(e.message),
  );
  assert.throws(
    () =>
      session.declareExchange('dx', 'x-delayed-message', {
        arguments: { 'x-delayed-type': 'x-delayed-message' },
      }),
    (e: Error & { replyCode?: number }) => e.replyCode === 406 && /x-delayed-type/.test(e.message),
  );
});

void test('transient delayed messages past the body budget page out to the journal, come due in order, and are gone after a restart', async (t) => {
  const o = await openBroker(t, { bodyBudget: 16 * 1024 });
  let broker = o.broker;
  let { session, received } = collectingSession(broker);
  session.declareExchange('dx', 'x-delayed-message', {
    durable: true,
    arguments: { 'x-delayed-type': 'fanout' },
  });
  session.declareQueue('q', { durable: true });
  session.bind('dx', 'q', 'queue', '');
  session.consume('q', { noAck: true });
  const pad = 'x'.repeat(1000);
  const N = 400;
  let peak = 0;
  for (let i = 0; i < N; i++) {
    // The second half is due first: order comes from the heap, not from the paging.
    const delay = i < N / 2 ? 900 : 300;
    session.publish('dx', '', hmsg(`${i}:${pad}`, { 'x-delay': delay }, false));
    peak = Math.max(peak, broker.bodies.bytes);
  }
  assert.ok(peak < 24 * 1024, `bodies held: ${peak} bytes against a 16 KiB budget`);
  await allDue(broker, 'dx');
  await eventually(() => assert.equal(received.length, N));
  const order = received.map((r) => Number(r.body.split(':')[0]));
  const half = Array.from({ length: N / 2 }, (_, i) => i);
  assert.deepEqual(order, [...half.map((i) => i + N / 2), ...half]);
  // Pending transient ones do not outlive a restart, and their journal space goes.
  for (let i = 0; i < 100; i++)
    session.publish('dx', '', hmsg(`late ${i}:${pad}`, { 'x-delay': 60_000 }, false));
  await synced(broker);
  broker = await o.reopen();
  ({ session, received } = collectingSession(broker));
  assert.equal(broker.vhost().exchanges.get('dx')!.delayed!.messageCount, 0);
  await synced(broker);
  assert.equal(broker.journal.store.stats().liveMessages, 0);
});
