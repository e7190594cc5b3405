import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { eventually, expectNothingFor } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

/** A consumer on its own channel that keeps what it gets unacked until told. */
async function holder(
  conn: amqp.ChannelModel,
  queue: string,
  prefetch = 10,
): Promise<{ ch: amqp.Channel; got: amqp.Message[]; names: () => string[] }> {
  const ch = await conn.createChannel();
  await ch.prefetch(prefetch);
  const got: amqp.Message[] = [];
  await ch.consume(queue, (m) => m !== null && got.push(m));
  return { ch, got, names: () => got.map(label) };
}

function label(m: amqp.Message): string {
  return m.content.toString() + (m.fields.redelivered ? '*' : '');
}

async function publish(
  ch: amqp.ConfirmChannel,
  queue: string,
  items: [string, string | undefined][],
  header = 'x-group-id',
): Promise<void> {
  for (const [body, group] of items)
    ch.sendToQueue(queue, Buffer.from(body), {
      headers: group === undefined ? {} : { [header]: group },
    });
  await ch.waitForConfirms();
}

void test('message groups: one message of a group out at a time, groups in parallel, ungrouped ones unhindered', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('g');
  const a = await holder(conn, 'g');
  const b = await holder(conn, 'g');
  await publish(pub, 'g', [
    ['A1', 'A'],
    ['A2', 'A'],
    ['B1', 'B'],
    ['A3', 'A'],
    ['x', undefined],
    ['B2', 'B'],
    ['y', undefined],
  ]);
  const all = (): string[] => [...a.names(), ...b.names()].sort();
  await eventually(() => assert.deepEqual(all(), ['A1', 'B1', 'x', 'y']));
  // Held back: A2, A3 behind A1 and B2 behind B1; the queue still counts them as ready.
  await expectNothingFor(100, () => assert.equal(all().length, 4));
  assert.equal((await pub.checkQueue('g')).messageCount, 3);
  const ackBody = (body: string): void => {
    for (const c of [a, b]) {
      const m = c.got.find((x) => x.content.toString() === body);
      if (m !== undefined) c.ch.ack(m);
    }
  };
  ackBody('A1');
  await eventually(() => assert.deepEqual(all(), ['A1', 'A2', 'B1', 'x', 'y']));
  ackBody('B1');
  ackBody('A2');
  await eventually(() => assert.deepEqual(all(), ['A1', 'A2', 'A3', 'B1', 'B2', 'x', 'y']));
  ackBody('A3');
  ackBody('B2');
  await eventually(async () => assert.equal((await pub.checkQueue('g')).messageCount, 0));
});

void test('message groups: a requeued message holds its group until it is redelivered; closing a channel hands the group over in order', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('g', { durable: true });
  const a = await holder(conn, 'g');
  await publish(pub, 'g', [
    ['A1', 'A'],
    ['A2', 'A'],
    ['A3', 'A'],
  ]);
  await eventually(() => assert.deepEqual(a.names(), ['A1']));
  a.ch.nack(a.got[0]!, false, true);
  await eventually(() => assert.deepEqual(a.names(), ['A1', 'A1*']));
  await expectNothingFor(100, () => assert.equal(a.got.length, 2));
  // A second consumer while A1 is out: nothing of group A for it.
  const b = await holder(conn, 'g');
  await expectNothingFor(100, () => assert.deepEqual(b.names(), []));
  a.ch.ack(a.got[1]!);
  await eventually(() => assert.equal(a.got.length + b.got.length, 3));
  // A2 went to one of them; the other gets nothing until it is settled.
  const withA2 = a.got.length === 3 ? a : b;
  const other = withA2 === a ? b : a;
  assert.equal(withA2.got.at(-1)!.content.toString(), 'A2');
  await withA2.ch.close();
  // Closing requeues A2: it goes out again (redelivered) before A3.
  await eventually(() => assert.deepEqual(other.names().slice(-1), ['A2*']));
  await expectNothingFor(100, () => assert.deepEqual(other.names().slice(-1), ['A2*']));
  other.ch.ack(other.got.at(-1)!);
  await eventually(() => assert.deepEqual(other.names().slice(-1), ['A3']));
});

void test('message groups: JMSXGroupID works as x-group-id; reject and basic.get release and respect the group', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('g');
  await publish(
    pub,
    'g',
    [
      ['J1', 'order-7'],
      ['J2', 'order-7'],
      ['K1', 'order-8'],
    ],
    'JMSXGroupID',
  );
  const ch = await conn.createChannel();
  const j1 = await ch.get('g');
  assert.ok(j1 !== false);
  assert.equal(j1.content.toString(), 'J1');
  // J2 waits for J1: the next get skips to the other group.
  const k1 = await ch.get('g');
  assert.ok(k1 !== false);
  assert.equal(k1.content.toString(), 'K1');
  assert.equal(await ch.get('g'), false);
  // A reject without requeue ends J1 as an ack does: J2 is next.
  ch.reject(j1, false);
  const j2 = await ch.get('g');
  assert.ok(j2 !== false);
  assert.equal(j2.content.toString(), 'J2');
  ch.ack(k1);
  ch.ack(j2);
  assert.equal((await pub.checkQueue('g')).messageCount, 0);
});

void test('message groups: purge takes held-back messages too, and the group is free afterwards', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('g', { durable: true });
  await publish(pub, 'g', [
    ['A1', 'A'],
    ['A2', 'A'],
    ['A3', 'A'],
  ]);
  const ch = await conn.createChannel();
  const first = await ch.get('g');
  assert.ok(first !== false);
  assert.equal(await ch.get('g'), false, 'A2 is held back behind A1');
  // A1 is out (unacked); A2 was set aside and A3 is still in the list: both purged.
  assert.equal((await pub.purgeQueue('g')).messageCount, 2);
  ch.nack(first, false, true);
  await publish(pub, 'g', [['A4', 'A']]);
  // A1 came back and holds the group again; after its ack, A4.
  const again = await ch.get('g');
  assert.ok(again !== false && again.content.toString() === 'A1');
  ch.ack(again);
  const a4 = await ch.get('g');
  assert.ok(a4 !== false && a4.content.toString() === 'A4');
  ch.ack(a4);
});

void test('message groups: many groups over four consumers stay in order per group, and every message arrives once', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('g', { durable: true });
  // Fewer groups than the 20 deliveries the consumers may hold: without groups they would overlap.
  const GROUPS = 6;
  const PER = 50;
  const seen = new Map<string, number[]>();
  const inFlight = new Set<string>();
  let overlap = 0;
  let total = 0;
  for (let c = 0; c < 4; c++) {
    const ch = await conn.createChannel();
    await ch.prefetch(5);
    await ch.consume('g', (m) => {
      if (m === null) return;
      const g = String(m.properties.headers?.['x-group-id']);
      if (inFlight.has(g)) overlap++;
      inFlight.add(g);
      const list = seen.get(g) ?? [];
      list.push(Number(m.content.toString()));
      seen.set(g, list);
      // Settle a little later, from another turn, so deliveries overlap.
      setTimeout(() => {
        inFlight.delete(g);
        total++;
        ch.ack(m);
      }, 1);
    });
  }
  for (let i = 0; i < PER; i++)
    for (let g = 0; g < GROUPS; g++)
      pub.sendToQueue('g', Buffer.from(String(i)), {
        persistent: true,
        headers: { 'x-group-id': `g${g}` },
      });
  await pub.waitForConfirms();
  await eventually(() => assert.equal(total, GROUPS * PER), 30000);
  assert.equal(overlap, 0, 'two messages of one group were out at once');
  const inOrder = Array.from({ length: PER }, (_, i) => i);
  for (const [g, list] of seen) assert.deepEqual(list, inOrder, g);
});

void test('message groups: a message waiting out its retry delay still holds its group; dead-lettering at the delivery limit frees it', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  await pub.assertQueue('g', {
    arguments: { 'x-delayed-retry-min': 50, 'x-delivery-limit': 1 },
  });
  await publish(pub, 'g', [
    ['A1', 'A'],
    ['A2', 'A'],
  ]);
  const a = await holder(conn, 'g');
  await eventually(() => assert.deepEqual(a.names(), ['A1']));
  a.ch.nack(a.got[0]!, false, true);
  // During A1's delay A2 must not overtake it.
  await expectNothingFor(30, () => assert.deepEqual(a.names(), ['A1']));
  await eventually(() => assert.deepEqual(a.names(), ['A1', 'A1*']));
  // Second failure: over the limit, dropped; the group goes on with A2.
  a.ch.nack(a.got[1]!, false, true);
  await eventually(() => assert.deepEqual(a.names(), ['A1', 'A1*', 'A2']));
});
