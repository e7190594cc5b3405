import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { hasCode, nextChannelError, openChannel, openConfirmChannel } from '../helpers/amqp-raw.js';
import { eventually } from '../helpers/core.js';
import { startBroker } from '../helpers/server.js';

/**
 * An amqplib connection with Nagle off: a basic.ack followed by a basic.get otherwise waits
 * for the broker's delayed TCP ACK (~40 ms a get).
 */
async function connect(t: TestContext, url: string): Promise<amqp.ChannelModel> {
  const c = await amqp.connect(url, { noDelay: true });
  c.on('error', () => {});
  t.after(() => c.close().catch(() => {}));
  return c;
}

/** One message to publish: its label and priority (undefined: no priority property). */
type Pub = [label: string, priority: number | undefined];

async function publishAll(
  pub: amqp.ConfirmChannel,
  queue: string,
  msgs: readonly Pub[],
  persistent = true,
  pad = 0,
): Promise<void> {
  for (const [label, priority] of msgs) {
    const body = Buffer.from(`${label}:${'x'.repeat(pad)}`);
    pub.sendToQueue(queue, body, { persistent, ...(priority !== undefined && { priority }) });
  }
  await pub.waitForConfirms();
}

const labelOf = (m: amqp.Message): string => m.content.toString().split(':')[0]!;

/** Everything ready on `queue`, by basic.get, acked. */
async function getAll(ch: amqp.Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue);
    if (m === false) return out;
    out.push(labelOf(m));
    ch.ack(m);
  }
}

/** The order RabbitMQ delivers `msgs` in: priority (capped at `max`) descending, then FIFO. */
function expectedOrder(msgs: readonly Pub[], max: number): string[] {
  return msgs
    .map(([label, p], i) => ({ label, p: Math.min(p ?? 0, max), i }))
    .sort((a, b) => b.p - a.p || a.i - b.i)
    .map((m) => m.label);
}

/**
 * INTEROP_BROKER_URL=amqp://guest:guest@127.0.0.1:5672 runs the tests that need no Baton
 * configuration against another broker (RabbitMQ), to check the expectations (never from npm
 * test); the others skip then.
 */
const external = process.env.INTEROP_BROKER_URL;

/** A broker (or the external one), a confirm channel, a plain channel and a fresh queue. */
async function setup(
  t: TestContext,
  name: string,
  args: Record<string, unknown>,
  config: Parameters<typeof startBroker>[1] = {},
) {
  const broker = external === undefined ? await startBroker(t, config) : undefined;
  const conn = await connect(t, external ?? broker!.url);
  const pub = await openConfirmChannel(conn);
  const q = external === undefined ? name : `${name}-${process.pid}-${Date.now()}`;
  await pub.assertQueue(q, { durable: true, arguments: args });
  if (external !== undefined)
    t.after(async () => {
      const c = await conn.createChannel().catch(() => undefined);
      await c?.deleteQueue(q).catch(() => {});
    });
  const ch = await openChannel(conn);
  return { broker, conn, pub, ch, q };
}

/** A deterministic mix of priorities 0..9 (and some without the property). */
function mixed(n: number, prefix = 'm'): Pub[] {
  const out: Pub[] = [];
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const p = x % 11;
    out.push([`${prefix}${i}`, p === 10 ? undefined : p]);
  }
  return out;
}

void test('x-max-priority: higher priority first, FIFO within a priority, none = 0, above max = max (RabbitMQ)', async (t) => {
  const { pub, ch, q } = await setup(t, 'pq', { 'x-max-priority': 5 });
  const msgs: Pub[] = [
    ['a', 1],
    ['b', undefined],
    ['c', 5],
    ['d', 9], // above the max: counts as 5, after c
    ['e', 1],
    ['f', 0],
    ['g', 255],
    ['h', 3],
    ...mixed(40),
  ];
  await publishAll(pub, q, msgs);
  assert.equal((await ch.checkQueue(q)).messageCount, msgs.length);
  const got = await getAll(ch, q);
  assert.deepEqual(got.slice(0, 3), ['c', 'd', 'g']);
  assert.deepEqual(got, expectedOrder(msgs, 5));
  // The delivered property is the one published (the cap only orders).
  await publishAll(pub, q, [['z', 9]]);
  const m = await ch.get(q, { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.properties.priority, 9);
});

void test('a prefetch-1 consumer after a backlog gets the highest priority first, and a newer higher one next', async (t) => {
  const { pub, ch, q } = await setup(t, 'pc', { 'x-max-priority': 10 });
  const msgs = mixed(30);
  await publishAll(pub, q, msgs);
  await ch.prefetch(1);
  const got: string[] = [];
  let injected = false;
  const done = new Promise<void>((resolve, reject) => {
    void ch.consume(q, (m) => {
      if (m === null) return;
      got.push(labelOf(m));
      // After the first delivery (one in flight), a higher priority than any in the backlog.
      if (!injected) {
        injected = true;
        pub.sendToQueue(q, Buffer.from('top:'), { persistent: true, priority: 10 });
        pub.waitForConfirms().then(() => ch.ack(m), reject);
        return;
      }
      ch.ack(m);
      if (got.length === msgs.length + 1) resolve();
    });
  });
  await done;
  const want = expectedOrder(msgs, 10);
  assert.deepEqual(got, [want[0]!, 'top', ...want.slice(1)]);
});

void test('nack requeue puts a message back at its place within its priority (RabbitMQ)', async (t) => {
  const { pub, ch, q } = await setup(t, 'pr', { 'x-max-priority': 9 });
  await publishAll(pub, q, [
    ['x1', 2],
    ['a1', 5],
    ['x2', 2],
    ['a2', 5],
    ['a3', 5],
  ]);
  const get = async (): Promise<amqp.GetMessage> => {
    const m = await ch.get(q);
    assert.ok(m !== false);
    return m;
  };
  const a1 = await get();
  const a2 = await get();
  const a3 = await get();
  const x1 = await get();
  assert.deepEqual([a1, a2, a3, x1].map(labelOf), ['a1', 'a2', 'a3', 'x1']);
  // Out of order: a2 and x1 back first, then a1; a newer priority 5 arrives meanwhile.
  ch.nack(a2, false, true);
  ch.nack(x1, false, true);
  await publishAll(pub, q, [['a4', 5]]);
  ch.nack(a1, false, true);
  const out: [string, boolean][] = [];
  for (;;) {
    const m = await ch.get(q);
    if (m === false) break;
    out.push([labelOf(m), m.fields.redelivered]);
    ch.ack(m);
  }
  ch.ack(a3);
  assert.deepEqual(out, [
    ['a1', true],
    ['a2', true],
    ['a4', false],
    ['x1', true],
    ['x2', false],
  ]);
});

void test('x-max-priority values: 1..255 and 0 (one level) accepted, others 406 as RabbitMQ', async (t) => {
  const conn = await connect(t, external ?? (await startBroker(t)).url);
  const ok = await openChannel(conn);
  for (const v of [1, 10, 255, 0])
    await ok.assertQueue(`ok-${v}-${process.pid}`, {
      exclusive: true,
      arguments: { 'x-max-priority': v },
    });
  // RabbitMQ's texts end in an Erlang term ({max_value_exceeded,256}); Baton's in a sentence.
  const why = (baton: string): string => (external === undefined ? `.*${baton}` : '');
  const cases: [unknown, RegExp][] = [
    [256, new RegExp(`invalid arg 'x-max-priority'${why('at most 255')}`)],
    [-1, new RegExp(`invalid arg 'x-max-priority'${why('at least 0')}`)],
    ['10', new RegExp(`invalid arg 'x-max-priority'${why('integer')}`)],
    [2.5, new RegExp(`invalid arg 'x-max-priority'${why('integer')}`)],
  ];
  for (const [v, re] of cases) {
    const ch = await conn.createChannel();
    const err = nextChannelError(ch);
    ch.assertQueue(`bad-${process.pid}`, {
      exclusive: true,
      arguments: { 'x-max-priority': v },
    }).catch(() => {});
    const e = await err;
    assert.ok(hasCode(406)(e), `${String(v)}: ${e.message}`);
    assert.match(e.message, re);
  }
  // x-max-priority 0: every message is level 0, so plain FIFO.
  const pub = await openConfirmChannel(conn);
  await publishAll(
    pub,
    `ok-0-${process.pid}`,
    [
      ['a', 9],
      ['b', 0],
      ['c', 5],
    ],
    false,
  );
  assert.deepEqual(await getAll(ok, `ok-0-${process.pid}`), ['a', 'b', 'c']);
});

void test('redeclaring with another x-max-priority (or none) is 406 inequivalent arg', async (t) => {
  const { conn, q } = await setup(t, 'pi', { 'x-max-priority': 10 });
  for (const args of [{ 'x-max-priority': 5 }, {}]) {
    const ch = await conn.createChannel();
    const err = nextChannelError(ch);
    ch.assertQueue(q, { durable: true, arguments: args }).catch(() => {});
    const e = await err;
    assert.ok(hasCode(406)(e), e.message);
    assert.match(e.message, /inequivalent arg 'x-max-priority'/);
  }
  const ch = await conn.createChannel();
  await ch.assertQueue(q, { durable: true, arguments: { 'x-max-priority': 10 } });
});

void test('x-max-length drop-head on a priority queue drops the head: the highest priority (RabbitMQ)', async (t) => {
  const { pub, ch, q } = await setup(t, 'pl', { 'x-max-priority': 9, 'x-max-length': 3 });
  await publishAll(pub, q, [
    ['a', 1],
    ['b', 9],
    ['c', 1],
    ['d', 5],
  ]);
  assert.deepEqual(await getAll(ch, q), ['d', 'a', 'c']);
});

void test('an expired message at the head of a priority queue goes; lower ones stay deliverable', async (t) => {
  const { pub, ch, q } = await setup(t, 'pe', { 'x-max-priority': 9 });
  pub.sendToQueue(q, Buffer.from('low:'), { persistent: true, priority: 1 });
  pub.sendToQueue(q, Buffer.from('exp:'), { persistent: true, priority: 9, expiration: '1' });
  await pub.waitForConfirms();
  // Nobody reads: the head's expiry timer removes it.
  await eventually(async () => assert.equal((await ch.checkQueue(q)).messageCount, 1));
  assert.deepEqual(await getAll(ch, q), ['low']);
});

void test('paged past the body budget, a priority queue still delivers in priority order (journal and spill)', async (t) => {
  if (external !== undefined) return t.skip('needs a Baton body budget');
  // 8 KiB of bodies in memory: nearly the whole backlog is paged out (durable) or spilled.
  const { pub, ch } = await setup(t, 'pp', { 'x-max-priority': 9 }, { bodyBudget: 8 * 1024 });
  await pub.assertQueue('pt', { durable: false, arguments: { 'x-max-priority': 9 } });
  const msgs = mixed(600);
  await publishAll(pub, 'pp', msgs, true, 900);
  assert.deepEqual(await getAll(ch, 'pp'), expectedOrder(msgs, 9));
  // Transient: two levels spilled to files (more than a spill write buffer each).
  const two: Pub[] = Array.from({ length: 800 }, (_, i) => [`t${i}`, 1 + (i % 2)]);
  await publishAll(pub, 'pt', two, false, 1000);
  const want = expectedOrder(two, 9);
  // The transient queue through a consumer (prefetch 50) instead of basic.get.
  await ch.prefetch(50);
  const got: string[] = [];
  await new Promise<void>((resolve) => {
    void ch.consume('pt', (m) => {
      if (m === null) return;
      got.push(labelOf(m));
      ch.ack(m);
      if (got.length === two.length) resolve();
    });
  });
  assert.deepEqual(got, want);
});

void test('after a restart, paged-out messages keep their priority order', async (t) => {
  if (external !== undefined) return t.skip('restarts Baton');
  const broker = await startBroker(t, { bodyBudget: 8 * 1024 });
  let conn = await connect(t, broker.url);
  let pub = await openConfirmChannel(conn);
  await pub.assertQueue('ps', { durable: true, arguments: { 'x-max-priority': 9 } });
  const msgs = mixed(500);
  await publishAll(pub, 'ps', msgs, true, 900);
  // One message taken and requeued before the restart: back in its level, redelivered.
  let ch = await openChannel(conn);
  const first = await ch.get('ps');
  assert.ok(first !== false);
  await conn.close();
  await broker.restart();
  conn = await connect(t, broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
  // Published after the restart, into the same levels.
  const later = mixed(50, 'n');
  await publishAll(pub, 'ps', later, true, 900);
  const all = [...msgs, ...later];
  assert.deepEqual(await getAll(ch, 'ps'), expectedOrder(all, 9));
});
