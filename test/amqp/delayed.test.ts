import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { connect, startBroker } from '../helpers/server.js';

const DELAYED = 'x-delayed-message';
/** Timer and clock rounding: "not before due" allows this much. */
const SLACK = 5;

/** Collect deliveries of `queue` (no-ack) with the wall-clock time each arrived. */
async function collect(
  ch: amqp.Channel,
  queue: string,
): Promise<{ got: { body: string; at: number; msg: amqp.ConsumeMessage }[] }> {
  const got: { body: string; at: number; msg: amqp.ConsumeMessage }[] = [];
  await ch.consume(
    queue,
    (m) => {
      if (m !== null) got.push({ body: m.content.toString(), at: Date.now(), msg: m });
    },
    { noAck: true },
  );
  return { got };
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

void test('delayed exchange: routed when due, in due order, equal due times in publish order, x-delay negated', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('dx', DELAYED, { arguments: { 'x-delayed-type': 'direct' } });
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(q, 'dx', 'k');
  const { got } = await collect(ch, q);
  const plan: [string, number][] = [
    ['c', 300],
    ['a', 100],
    ['b1', 200],
    ['b2', 200],
    ['b3', 200],
    ['now', 0],
  ];
  const sentAt = new Map<string, number>();
  for (const [body, delay] of plan) {
    sentAt.set(body, Date.now());
    ch.publish('dx', 'k', Buffer.from(body), { headers: { 'x-delay': delay } });
  }
  await ch.waitForConfirms();
  await until(() => got.length === plan.length, 'all deliveries');
  assert.deepEqual(
    got.map((g) => g.body),
    ['now', 'a', 'b1', 'b2', 'b3', 'c'],
  );
  for (const g of got) {
    const delay = plan.find(([b]) => b === g.body)![1];
    assert.ok(g.at >= sentAt.get(g.body)! + delay - SLACK, `${g.body} delivered before due`);
    assert.equal(g.msg.fields.exchange, 'dx');
    // As the plugin: the delivered copy carries -delay, so it is not delayed again.
    if (delay > 0) assert.equal(g.msg.properties.headers?.['x-delay'], -delay);
  }
});

void test('delayed exchange: x-delay that is not a positive number routes at once; strings and floats count', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('dx2', DELAYED, { arguments: { 'x-delayed-type': 'fanout' } });
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(q, 'dx2', '');
  for (const d of [-5, 0, 'soon', true])
    ch.publish('dx2', '', Buffer.from(String(d)), { headers: { 'x-delay': d } });
  ch.publish('dx2', '', Buffer.from('none'));
  ch.publish('dx2', '', Buffer.from('str'), { headers: { 'x-delay': '150' } });
  ch.publish('dx2', '', Buffer.from('float'), { headers: { 'x-delay': 100.7 } });
  await ch.waitForConfirms();
  // The undelayed ones are in the queue once confirmed.
  assert.equal((await ch.checkQueue(q)).messageCount, 5);
  const { got } = await collect(ch, q);
  await until(() => got.length === 7, 'delayed ones');
  assert.deepEqual(
    got.slice(5).map((g) => g.body),
    ['float', 'str'],
  );
});

void test('x-delay on an exchange that is not delayed is just a header', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  ch.sendToQueue(q, Buffer.from('x'), { headers: { 'x-delay': 60_000 } });
  await ch.waitForConfirms();
  const m = await ch.get(q);
  assert.ok(m !== false);
  assert.equal(m.properties.headers?.['x-delay'], 60_000);
});

void test('delayed exchange: every x-delayed-type routes as its type when due', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  const cases: { type: string; key: string; bind: string; args?: Record<string, unknown> }[] = [
    { type: 'direct', key: 'a.b', bind: 'a.b' },
    { type: 'fanout', key: 'whatever', bind: '' },
    { type: 'topic', key: 'a.b.c', bind: 'a.#' },
    { type: 'headers', key: '', bind: '', args: { 'x-match': 'all', kind: 'k1' } },
  ];
  for (const c of cases) {
    const ex = `d-${c.type}`;
    await ch.assertExchange(ex, DELAYED, { arguments: { 'x-delayed-type': c.type } });
    const hit = (await ch.assertQueue('', { exclusive: true })).queue;
    const miss = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(hit, ex, c.bind, c.args);
    if (c.type !== 'fanout')
      await ch.bindQueue(miss, ex, c.type === 'topic' ? 'x.#' : 'other', {
        ...(c.args ?? {}),
        ...(c.type === 'headers' ? { kind: 'k2' } : {}),
      });
    ch.publish(ex, c.key, Buffer.from(c.type), { headers: { 'x-delay': 50, kind: 'k1' } });
    await ch.waitForConfirms();
    const { got } = await collect(ch, hit);
    await until(() => got.length === 1, `${c.type} delivery`);
    assert.equal(got[0]!.body, c.type);
    assert.equal((await ch.checkQueue(miss)).messageCount, 0, `${c.type}: wrong queue`);
  }
});

void test('delayed exchange: routed through the bindings as they are when due', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('dlate', DELAYED, { arguments: { 'x-delayed-type': 'direct' } });
  const early = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(early, 'dlate', 'k');
  ch.publish('dlate', 'k', Buffer.from('m'), { headers: { 'x-delay': 300 } });
  await ch.waitForConfirms();
  // Rebind before it is due: it goes to the new queue only.
  const late = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(late, 'dlate', 'k');
  await ch.unbindQueue(early, 'dlate', 'k');
  const { got } = await collect(ch, late);
  await until(() => got.length === 1, 'delivery to the queue bound later');
  assert.equal((await ch.checkQueue(early)).messageCount, 0);
});

void test('delayed exchange: mandatory is checked when due (basic.return then), not at publish', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('dm', DELAYED, { arguments: { 'x-delayed-type': 'direct' } });
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(q, 'dm', 'bound');
  const returned: amqp.Message[] = [];
  ch.on('return', (m: amqp.Message) => returned.push(m));
  // Long enough that the confirms come back well before it is due, even on a loaded machine.
  const DELAY = 1500;
  const t0 = Date.now();
  ch.publish('dm', 'nowhere', Buffer.from('lost'), {
    mandatory: true,
    headers: { 'x-delay': DELAY },
  });
  ch.publish('dm', 'bound', Buffer.from('kept'), {
    mandatory: true,
    headers: { 'x-delay': DELAY },
  });
  await ch.waitForConfirms();
  // Held by the exchange: no return yet (RabbitMQ's plugin returns NO_ROUTE at once).
  assert.equal(returned.length, 0);
  await until(() => returned.length === 1, 'basic.return');
  assert.ok(Date.now() >= t0 + DELAY - SLACK);
  assert.equal(returned[0]!.content.toString(), 'lost');
  assert.equal(returned[0]!.fields.routingKey, 'nowhere');
  assert.equal((returned[0]!.fields as { replyCode?: number }).replyCode, 312);
  const { got } = await collect(ch, q);
  await until(() => got.length === 1, 'routable one');
  assert.equal(got[0]!.body, 'kept');
});

void test('delayed exchange: declare errors say what is wrong', async (t) => {
  const { url } = await startBroker(t);
  const attempt = async (
    type: string,
    args: Record<string, unknown>,
    code: number,
    text: RegExp,
    name = 'bad',
  ): Promise<void> => {
    // 503 closes the connection: a connection each.
    const c = await connect(t, url);
    let connErr: (Error & { code?: number }) | undefined;
    c.on('error', (e: Error & { code?: number }) => (connErr = e));
    const ch = await c.createChannel();
    let err: (Error & { code?: number }) | undefined;
    ch.on('error', () => {});
    try {
      await ch.assertExchange(name, type, { arguments: args });
    } catch (e) {
      err = e as Error & { code?: number };
    }
    if (code === 503) {
      await until(() => connErr !== undefined, 'connection error');
      err = connErr;
    }
    assert.ok(err !== undefined, `${JSON.stringify(args)} accepted`);
    assert.ok(err.code === code || err.message.includes(String(code)), err.message);
    assert.match(err.message, text);
  };
  await attempt(DELAYED, {}, 406, /needs the argument 'x-delayed-type'/);
  await attempt(DELAYED, { 'x-delayed-type': 5 }, 406, /x-delayed-type/);
  await attempt(DELAYED, { 'x-delayed-type': 'nope' }, 406, /unknown exchange type 'nope'/);
  await attempt(DELAYED, { 'x-delayed-type': DELAYED }, 406, /cannot be 'x-delayed-message'/);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange('good', DELAYED, { arguments: { 'x-delayed-type': 'topic' } });
  await ch.assertExchange('good', DELAYED, { arguments: { 'x-delayed-type': 'topic' } });
  await ch.close();
  await attempt('topic', {}, 406, /inequivalent arg 'type'/, 'good');
});

void test('delayed exchange: exchange-to-exchange bindings to and from it; delete drops pending', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('front', 'topic');
  await ch.assertExchange('dmid', DELAYED, { arguments: { 'x-delayed-type': 'topic' } });
  await ch.assertExchange('back', 'fanout');
  await ch.bindExchange('dmid', 'front', '#');
  await ch.bindExchange('back', 'dmid', 'a.*');
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(q, 'back', '');
  const t0 = Date.now();
  // Reaches the delayed exchange through 'front': held there, then routed on to 'back'.
  ch.publish('front', 'a.b', Buffer.from('via'), { headers: { 'x-delay': 150 } });
  await ch.waitForConfirms();
  assert.equal((await ch.checkQueue(q)).messageCount, 0);
  const { got } = await collect(ch, q);
  await until(() => got.length === 1, 'e2e delivery');
  assert.ok(got[0]!.at >= t0 + 150 - SLACK);

  // Deleting the exchange drops what it holds; a new one of the same name starts empty.
  await ch.assertExchange('gone', DELAYED, { arguments: { 'x-delayed-type': 'fanout' } });
  const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(q2, 'gone', '');
  ch.publish('gone', '', Buffer.from('dropped'), { headers: { 'x-delay': 150 } });
  await ch.waitForConfirms();
  await ch.deleteExchange('gone');
  await ch.assertExchange('gone', DELAYED, { arguments: { 'x-delayed-type': 'fanout' } });
  await ch.bindQueue(q2, 'gone', '');
  ch.publish('gone', '', Buffer.from('marker'), { headers: { 'x-delay': 400 } });
  await ch.waitForConfirms();
  const { got: got2 } = await collect(ch, q2);
  await until(() => got2.length === 1, 'marker');
  assert.deepEqual(
    got2.map((g) => g.body),
    ['marker'],
  );
});

void test('delayed exchange: pending messages survive a restart; past due ones go at once, each once', async (t) => {
  const b = await startBroker(t);
  {
    const conn = await connect(t, b.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('dur', DELAYED, {
      durable: true,
      arguments: { 'x-delayed-type': 'direct' },
    });
    await ch.assertQueue('dq', { durable: true });
    await ch.bindQueue('dq', 'dur', 'k');
    for (let i = 0; i < 5; i++)
      ch.publish('dur', 'k', Buffer.from(`soon${i}`), {
        persistent: true,
        headers: { 'x-delay': 100 },
        expiration: '60000',
      });
    ch.publish('dur', 'k', Buffer.from('later'), {
      persistent: true,
      headers: { 'x-delay': 1500 },
    });
    ch.publish('dur', 'k', Buffer.from('transient'), { headers: { 'x-delay': 100 } });
    await ch.waitForConfirms();
    await conn.close();
  }
  const stopAt = Date.now();
  await b.restart();
  // Let the short ones pass due while down... they were stopped at close, so they come now.
  const conn = await connect(t, b.url);
  const ch = await conn.createChannel();
  const { got } = await collect(ch, 'dq');
  await until(() => got.length === 6, 'all durable ones');
  assert.deepEqual(
    got.map((g) => g.body),
    ['soon0', 'soon1', 'soon2', 'soon3', 'soon4', 'later'],
  );
  assert.ok(got[5]!.at >= stopAt + 1500 - 1000, 'later delivered long before due');
  // Its TTL counts from when it reached the queue, and is still carried.
  assert.equal(got[0]!.msg.properties.expiration, '60000');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(got.length, 6);
});

void test('delayed exchange: many delayed messages past a small body budget, across a restart', async (t) => {
  const b = await startBroker(t, { bodyBudget: 16 * 1024 });
  const N = 3000;
  {
    const conn = await connect(t, b.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('dpage', DELAYED, {
      durable: true,
      arguments: { 'x-delayed-type': 'fanout' },
    });
    await ch.assertQueue('pq', { durable: true });
    await ch.bindQueue('pq', 'dpage', '');
    const pad = 'x'.repeat(1000);
    // Equal delays: due order is publish order, which must survive paging and the restart.
    for (let i = 0; i < N; i++) {
      ch.publish('dpage', '', Buffer.from(`${i}:${pad}`), {
        persistent: true,
        headers: { 'x-delay': 1200 },
      });
      if (i % 500 === 499) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    await conn.close();
  }
  await b.restart();
  const conn = await connect(t, b.url);
  const ch = await conn.createChannel();
  const { got } = await collect(ch, 'pq');
  await until(() => got.length >= N, 'all paged delayed messages', 60_000);
  await new Promise((r) => setTimeout(r, 100));
  const ids = got.map((g) => Number(g.body.split(':')[0]));
  assert.equal(ids.length, N);
  assert.deepEqual(
    ids,
    Array.from({ length: N }, (_, i) => i),
  );
});

void test("delayed exchange, LavinMQ's form: x-delayed-exchange true on a topic exchange delays and routes by topic", async (t) => {
  const b = await startBroker(t);
  const conn = await connect(t, b.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('lx', 'topic', {
    durable: true,
    arguments: { 'x-delayed-exchange': true },
  });
  // The same declaration again is equivalent; the type is still topic.
  await ch.assertExchange('lx', 'topic', {
    durable: true,
    arguments: { 'x-delayed-exchange': true },
  });
  await ch.assertQueue('lq', { durable: true });
  await ch.bindQueue('lq', 'lx', 'orders.*');
  const sent = Date.now();
  ch.publish('lx', 'orders.new', Buffer.from('later'), {
    persistent: true,
    headers: { 'x-delay': 300 },
  });
  ch.publish('lx', 'orders.new', Buffer.from('now'), { persistent: true });
  ch.publish('lx', 'other.new', Buffer.from('unbound'), {
    persistent: true,
    headers: { 'x-delay': 10 },
  });
  await ch.waitForConfirms();
  const got: { body: string; at: number }[] = [];
  await ch.consume(
    'lq',
    (m) => m !== null && got.push({ body: m.content.toString(), at: Date.now() }),
    {
      noAck: true,
    },
  );
  await until(() => got.length === 2, 'both routed');
  assert.deepEqual(
    got.map((g) => g.body),
    ['now', 'later'],
  );
  assert.ok(got[1]!.at - sent >= 290, `delivered after ${got[1]!.at - sent} ms`);
  const c2 = await conn.createChannel();
  let err: (Error & { code?: number }) | undefined;
  c2.on('error', () => {});
  await c2
    .assertExchange('bad', 'direct', { arguments: { 'x-delayed-exchange': 'yes' } })
    .catch((e: Error & { code?: number }) => (err = e));
  assert.ok(err !== undefined && err.code === 406, err?.message);
  // Its definition survives a restart as what it was declared: a topic exchange that delays.
  await b.restart();
  const c3 = await (await connect(t, b.url)).createConfirmChannel();
  await c3.assertExchange('lx', 'topic', {
    durable: true,
    arguments: { 'x-delayed-exchange': true },
  });
  const after = Date.now();
  c3.publish('lx', 'orders.x', Buffer.from('again'), { headers: { 'x-delay': 200 } });
  await c3.waitForConfirms();
  const again: number[] = [];
  await c3.consume('lq', (m) => m !== null && again.push(Date.now()), { noAck: true });
  await until(() => again.length === 1, 'delayed after the restart');
  assert.ok(again[0]! - after >= 190, `delivered after ${again[0]! - after} ms`);
});
