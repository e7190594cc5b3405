import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { eventually, expectNothingFor } from '../helpers/core.js';
import {
  connectionClosed,
  nextChannelError,
  openChannel,
  openConfirmChannel,
  within,
} from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

async function publishN(
  ch: amqp.ConfirmChannel,
  queue: string,
  n: number,
  options: amqp.Options.Publish = { persistent: true },
): Promise<void> {
  for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(String(i)), options);
  await ch.waitForConfirms();
}

void test('competing consumers: 4 consumers on 4 channels get each of 4,000 persistent messages exactly once (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('work', { durable: true });
  const N = 4000;
  const seen = new Array<number>(N).fill(0);
  const perConsumer = [0, 0, 0, 0];
  let redelivered = 0;
  let total = 0;
  for (let c = 0; c < 4; c++) {
    // Each consumer on its own connection's channel would also do; separate channels is the rule.
    const ch = await openChannel(conn);
    await ch.prefetch(25);
    await ch.consume('work', (m) => {
      if (m === null) return;
      const i = Number(m.content.toString());
      seen[i]!++;
      perConsumer[c]!++;
      total++;
      if (m.fields.redelivered) redelivered++;
      ch.ack(m);
    });
  }
  await publishN(pub, 'work', N);
  await eventually(() => assert.equal(total, N));
  // Watch for a stray duplicate before judging.
  await expectNothingFor(100, () => assert.equal(total, N));
  const dupes = seen.flatMap((n, i) => (n !== 1 ? [`${i}x${n}`] : []));
  assert.deepEqual(dupes, [], 'every message delivered exactly once');
  assert.equal(redelivered, 0, 'no message flagged redelivered without a requeue');
  for (const n of perConsumer)
    assert.ok(n > 0, `round robin reached every consumer: ${perConsumer}`);
  const q = await pub.checkQueue('work');
  assert.equal(q.messageCount, 0);
  assert.equal(q.consumerCount, 4);
});

void test('a single consumer receives messages in publish order (AMQP 0-9-1 §4.7, RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('ordered', { durable: true });
  await publishN(pub, 'ordered', 500);
  const sub = await openChannel(conn);
  await sub.prefetch(7);
  const got: number[] = [];
  await sub.consume('ordered', (m) => {
    if (m === null) return;
    got.push(Number(m.content.toString()));
    sub.ack(m);
  });
  // More published while the consumer is attached: still in order behind the backlog.
  for (let i = 500; i < 1000; i++)
    pub.sendToQueue('ordered', Buffer.from(String(i)), { persistent: true });
  await pub.waitForConfirms();
  await eventually(() => assert.equal(got.length, 1000));
  assert.deepEqual(
    got,
    Array.from({ length: 1000 }, (_, i) => i),
  );
});

void test('basic.qos prefetch-count: unacked deliveries to a consumer never exceed the limit (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('slow', { durable: false });
  await publishN(pub, 'slow', 200, {});
  const ch = await openChannel(conn);
  const PREFETCH = 5;
  await ch.prefetch(PREFETCH);
  let inFlight = 0;
  let maxInFlight = 0;
  let done = 0;
  await ch.consume('slow', (m) => {
    if (m === null) return;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // A slow consumer: ack a few ms later, so the broker has every chance to overrun it.
    setTimeout(() => {
      inFlight--;
      done++;
      ch.ack(m);
    }, 2);
  });
  await eventually(() => assert.equal(done, 200));
  assert.ok(maxInFlight <= PREFETCH, `saw ${maxInFlight} unacked with prefetch ${PREFETCH}`);
  assert.equal(maxInFlight, PREFETCH, 'the consumer was kept busy up to its prefetch');
});

void test('basic.qos prefetch-count: a consumer holding its full prefetch gets nothing more until it acks (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('held', { durable: false });
  await publishN(pub, 'held', 20, {});
  const ch = await openChannel(conn);
  await ch.prefetch(3);
  const held: amqp.ConsumeMessage[] = [];
  await ch.consume('held', (m) => {
    if (m !== null) held.push(m);
  });
  await eventually(() => assert.equal(held.length, 3));
  await expectNothingFor(100, () =>
    assert.equal(held.length, 3, 'no delivery beyond prefetch while nothing is acked'),
  );
  assert.equal((await pub.checkQueue('held')).messageCount, 17);
  ch.ack(held[0]!);
  await eventually(() => assert.equal(held.length, 4));
  await expectNothingFor(50, () => assert.equal(held.length, 4, 'one ack frees exactly one slot'));
  assert.deepEqual(
    held.map((m) => m.content.toString()),
    ['0', '1', '2', '3'],
  );
});

void test('basic.qos global=true: the limit is shared by all consumers on the channel (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('g1', { durable: false });
  await pub.assertQueue('g2', { durable: false });
  await publishN(pub, 'g1', 30, {});
  await publishN(pub, 'g2', 30, {});
  const ch = await openChannel(conn);
  const LIMIT = 6;
  await ch.prefetch(LIMIT, true);
  const held: amqp.ConsumeMessage[] = [];
  let maxHeld = 0;
  const onMsg = (m: amqp.ConsumeMessage | null): void => {
    if (m === null) return;
    held.push(m);
    maxHeld = Math.max(maxHeld, held.length);
  };
  await ch.consume('g1', onMsg);
  await ch.consume('g2', onMsg);
  await eventually(() => assert.equal(held.length, LIMIT));
  await expectNothingFor(100, () =>
    assert.equal(held.length, LIMIT, 'both consumers together hold at most the channel limit'),
  );
  // Ack everything in small steps; the shared limit must hold throughout.
  let acked = 0;
  while (acked < 60) {
    const m = held.shift();
    if (m === undefined) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    ch.ack(m);
    acked++;
    assert.ok(maxHeld <= LIMIT, `held ${maxHeld} with a channel-wide prefetch of ${LIMIT}`);
  }
  assert.ok(maxHeld <= LIMIT);
  const [q1, q2] = [await pub.checkQueue('g1'), await pub.checkQueue('g2')];
  assert.equal(q1.messageCount + q2.messageCount, 0);
});

void test('basic.consume noAck=true: messages are delivered without a limit and never redelivered (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('fire', { durable: false });
  await publishN(pub, 'fire', 100, {});
  const ch = await openChannel(conn);
  await ch.prefetch(1); // ignored for no-ack consumers
  let n = 0;
  await ch.consume(
    'fire',
    (m) => {
      if (m !== null) n++;
    },
    { noAck: true },
  );
  await eventually(() => assert.equal(n, 100));
  await ch.close();
  assert.equal(
    (await pub.checkQueue('fire')).messageCount,
    0,
    'no-ack deliveries are not requeued on close',
  );
});

void test('basic.cancel stops deliveries; unacked messages of the cancelled consumer can still be acked (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('cancel-me', { durable: false });
  await publishN(pub, 'cancel-me', 10, {});
  const ch = await openChannel(conn);
  await ch.prefetch(2);
  const got: amqp.ConsumeMessage[] = [];
  const { consumerTag } = await ch.consume('cancel-me', (m) => {
    if (m !== null) got.push(m);
  });
  await eventually(() => assert.equal(got.length, 2));
  await ch.cancel(consumerTag);
  for (const m of got) ch.ack(m);
  await expectNothingFor(50, () =>
    assert.equal(got.length, 2, 'nothing delivered after cancel-ok'),
  );
  const q = await pub.checkQueue('cancel-me');
  assert.equal(q.messageCount, 8);
  assert.equal(q.consumerCount, 0);
  // The acks were accepted: the channel is still open and usable.
  assert.equal((await ch.checkQueue('cancel-me')).messageCount, 8);
});

void test('basic.consume with a consumer tag already used on the channel closes the connection with 530 NOT_ALLOWED (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const closed = connectionClosed(conn);
  const ch = await openChannel(conn);
  await ch.assertQueue('tagged', { durable: false });
  await ch.consume('tagged', () => {}, { consumerTag: 'dup' });
  const chError = nextChannelError(ch);
  await assert.rejects(ch.consume('tagged', () => {}, { consumerTag: 'dup' }));
  // RabbitMQ: rabbit_misc:protocol_error(not_allowed, "attempt to reuse consumer tag ~ts"), a
  // hard error, so the whole connection is closed with 530 (not just the channel).
  const first = await within(Promise.race([closed, chError]), 'connection or channel close');
  assert.match(String(first), /530/, `got ${String(first)}`);
  assert.match(String(await within(closed, 'connection close')), /530/);
});

void test('a consumer without prefetch limit receives a 32 MB backlog completely, in order, through socket back-pressure (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('backlog', { durable: false });
  const N = 512;
  const chunk = Buffer.alloc(64 * 1024, 0x2e);
  for (let i = 0; i < N; i++) {
    chunk.writeUInt32BE(i, 0);
    pub.sendToQueue('backlog', Buffer.from(chunk));
  }
  await pub.waitForConfirms();
  const sub = await openChannel(conn);
  const seen: number[] = [];
  let bad = 0;
  await sub.consume(
    'backlog',
    (m) => {
      if (m === null) return;
      if (m.content.length !== chunk.length) bad++;
      seen.push(m.content.readUInt32BE(0));
    },
    { noAck: true },
  );
  await eventually(() => assert.equal(seen.length, N));
  assert.equal(bad, 0);
  assert.deepEqual(
    seen,
    Array.from({ length: N }, (_, i) => i),
  );
});
