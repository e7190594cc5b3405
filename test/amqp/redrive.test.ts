import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { controlRequest } from '../../src/protocol/control/client.js';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

type Reply = Record<string, unknown>;

/** Redrive through the broker's control socket (`baton redrive` uses the management API). */
function redrive(socket: string, request: Reply): Promise<Reply> {
  return controlRequest(socket, { op: 'redrive', vhost: '/', ...request });
}

/**
 * Every ready message of `queue`, in order, taken with no-ack (an ack between gets would wait
 * out the client's Nagle delay against the server's delayed TCP ack: ~40 ms per message).
 */
async function drain(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

const bodies = (ms: amqp.GetMessage[]): string[] => ms.map((m) => m.content.toString());

/** A dead letter as the broker would have written it, for a DLQ filled by hand. */
function deadIn(queue: string): Record<string, unknown> {
  return {
    'x-death': [
      {
        count: 1,
        reason: 'rejected',
        queue,
        time: new Date(),
        exchange: '',
        'routing-keys': [queue],
      },
    ],
  };
}

void test('redrive: each message goes back to the queue it died in (x-death), in order, headers kept', async (t) => {
  const { url, server } = await startBroker(t);
  const socket = server.controlSocket!;
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('dlq', { durable: true });
  const dlx = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' };
  await ch.assertQueue('orders', { durable: true, arguments: dlx });
  await ch.assertQueue('mails', { durable: true, arguments: dlx });
  for (const [q, b] of [
    ['orders', 'o1'],
    ['mails', 'm1'],
    ['orders', 'o2'],
    ['orders', 'o3'],
    ['mails', 'm2'],
  ] as const)
    ch.sendToQueue(q, Buffer.from(b), {
      persistent: true,
      messageId: `id-${b}`,
      headers: { app: b },
    });
  await ch.waitForConfirms();
  // Reject them in a fixed interleaved order: o1 m1 o2 m2 o3.
  for (const q of ['orders', 'mails', 'orders', 'mails', 'orders']) {
    const m = await ch.get(q);
    assert.ok(m !== false);
    ch.reject(m, false);
  }
  await until(async () => (await ch.checkQueue('dlq')).messageCount === 5, 'five dead letters');
  const before = await drainPeek(ch, 'dlq');

  const r = await redrive(socket, { queue: 'dlq' });
  assert.deepEqual(r, {
    ok: true,
    moved: 5,
    skipped: 0,
    skippedBy: {},
    movedTo: { orders: 3, mails: 2 },
  });
  assert.equal((await ch.checkQueue('dlq')).messageCount, 0);
  const orders = await drain(ch, 'orders');
  const mails = await drain(ch, 'mails');
  assert.deepEqual(bodies(orders), ['o1', 'o2', 'o3']);
  assert.deepEqual(bodies(mails), ['m1', 'm2']);
  for (const m of [...orders, ...mails]) {
    const b = m.content.toString();
    const was = before.get(b)!;
    assert.equal(m.properties.messageId, `id-${b}`);
    assert.equal(m.properties.deliveryMode, 2);
    assert.equal(m.fields.redelivered, false);
    assert.equal(m.fields.exchange, '', 'routed as if published to the default exchange');
    assert.equal(m.fields.routingKey, b.startsWith('o') ? 'orders' : 'mails');
    // Headers exactly as they were in the DLQ: the history (x-death) is kept.
    assert.deepEqual(m.properties.headers, was.properties.headers);
    const h = m.properties.headers!;
    assert.equal(h.app, b);
    assert.equal(h['x-first-death-queue'], b.startsWith('o') ? 'orders' : 'mails');
    const deaths = h['x-death'] as unknown as Record<string, unknown>[];
    assert.equal(deaths[0]!.reason, 'rejected');
  }
});

/** The ready messages of `queue` by body, left in place (got, then put back by recover). */
async function drainPeek(ch: amqp.Channel, queue: string): Promise<Map<string, amqp.GetMessage>> {
  const out = new Map<string, amqp.GetMessage>();
  for (;;) {
    const m = await ch.get(queue);
    if (m === false) break;
    out.set(m.content.toString(), m);
  }
  await ch.recover();
  await until(
    async () => (await ch.checkQueue(queue)).messageCount === out.size,
    'the peeked messages back',
  );
  return out;
}

void test('redrive --to a named queue, with a limit: the oldest N move, in order; the rest stay in order', async (t) => {
  const { url, server } = await startBroker(t);
  const socket = server.controlSocket!;
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('dlq', { durable: true });
  await ch.assertQueue('retry', { durable: true });
  for (let i = 0; i < 10; i++) ch.sendToQueue('dlq', Buffer.from(`m${i}`), { persistent: true });
  await ch.waitForConfirms();
  const r = await redrive(socket, { queue: 'dlq', to: 'retry', limit: 4 });
  assert.equal(r.ok, true);
  assert.equal(r.moved, 4);
  assert.deepEqual(r.movedTo, { retry: 4 });
  assert.equal((await ch.checkQueue('retry')).messageCount, 4);
  // Without --to these have no x-death: every one is skipped and stays, in order.
  const r2 = await redrive(socket, { queue: 'dlq' });
  assert.deepEqual(r2, {
    ok: true,
    moved: 0,
    skipped: 6,
    skippedBy: { 'no-x-death': 6 },
    movedTo: {},
  });
  assert.deepEqual(bodies(await drain(ch, 'retry')), ['m0', 'm1', 'm2', 'm3']);
  assert.deepEqual(bodies(await drain(ch, 'dlq')), ['m4', 'm5', 'm6', 'm7', 'm8', 'm9']);
});

void test('redrive: skipped messages (no x-death, queue gone) stay in place and do not block the rest; unacked ones are not touched', async (t) => {
  const { url, server } = await startBroker(t);
  const socket = server.controlSocket!;
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('dlq', { durable: true });
  await ch.assertQueue('work', { durable: true });
  const send = (body: string, headers?: Record<string, unknown>): void => {
    ch.sendToQueue('dlq', Buffer.from(body), { persistent: true, ...(headers ? { headers } : {}) });
  };
  send('held', deadIn('work'));
  send('a', deadIn('work'));
  send('plain');
  send('b', deadIn('gone'));
  send('c', deadIn('work'));
  await ch.waitForConfirms();
  const held = await ch.get('dlq');
  assert.ok(held !== false && held.content.toString() === 'held');
  const r = await redrive(socket, { queue: 'dlq' });
  assert.deepEqual(r, {
    ok: true,
    moved: 2,
    skipped: 2,
    skippedBy: { 'no-x-death': 1, 'queue-missing': 1 },
    movedTo: { work: 2 },
  });
  assert.deepEqual(bodies(await drain(ch, 'work')), ['a', 'c']);
  assert.deepEqual(bodies(await drain(ch, 'dlq')), ['plain', 'b']);
  // The unacked one is still the consumer's, and comes back to the DLQ when given up.
  ch.nack(held, false, true);
  const back = await ch.get('dlq');
  assert.ok(back !== false && back.content.toString() === 'held' && back.fields.redelivered);
  ch.ack(back);
});

void test('redrive refuses what cannot be done, with the reply code: no queue, no target, into itself, bad limit', async (t) => {
  const { url, server } = await startBroker(t);
  const socket = server.controlSocket!;
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('dlq');
  const bad = async (req: Reply, code: number, text: RegExp): Promise<void> => {
    const r = await redrive(socket, req);
    assert.equal(r.ok, false, JSON.stringify(req));
    assert.equal(r.code, code, JSON.stringify(r));
    assert.match(String(r.error), text);
  };
  await bad({ queue: 'nope' }, 404, /no queue 'nope'/);
  await bad({ queue: 'dlq', to: 'nope' }, 404, /no queue 'nope'/);
  await bad({ queue: 'dlq', to: 'dlq' }, 406, /into itself/);
  await bad({ queue: 'dlq', limit: 0 }, 406, /positive whole number/);
  await bad({ queue: 'dlq', limit: 1.5 }, 406, /positive whole number/);
  await bad({ queue: 'dlq', limit: '3' }, 406, /'limit' must be a number/);
  await bad({ queue: 'dlq', vhost: 'elsewhere' }, 404, /no vhost/);
  await bad({ queue: 7 }, 406, /'queue' must be a string/);
  // The broker is unharmed.
  ch.sendToQueue('dlq', Buffer.from('x'));
  await ch.waitForConfirms();
  assert.equal((await ch.checkQueue('dlq')).messageCount, 1);
});

void test('redrive of paged-out messages: read back in order, moved durably (a restart finds them in the target)', async (t) => {
  // A tiny body budget: almost the whole DLQ is paged out and read back by the redrive.
  const b = await startBroker(t, { bodyBudget: 8 * 1024 });
  let conn = await connect(t, b.url);
  let ch = await openConfirmChannel(conn);
  await ch.assertQueue('filler', { durable: true });
  for (let i = 0; i < 20; i++) ch.sendToQueue('filler', Buffer.alloc(1024), { persistent: true });
  await ch.assertQueue('dlq', { durable: true });
  await ch.assertQueue('work', { durable: true });
  const N = 600;
  for (let i = 0; i < N; i++)
    ch.sendToQueue('dlq', Buffer.from(`${i}:${'x'.repeat(900)}`), {
      persistent: true,
      headers: deadIn('work'),
    });
  await ch.waitForConfirms();
  const r = await redrive(b.server.controlSocket!, { queue: 'dlq' });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.moved, N);
  await conn.close();
  await b.restart();
  conn = await connect(t, b.url);
  ch = await openConfirmChannel(conn);
  assert.equal((await ch.checkQueue('dlq')).messageCount, 0);
  const got = await drain(ch, 'work');
  assert.deepEqual(
    got.map((m) => Number(m.content.toString().split(':')[0])),
    Array.from({ length: N }, (_, i) => i),
  );
  assert.equal(got[0]!.content.length, `0:`.length + 900);
});
