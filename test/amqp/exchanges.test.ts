import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import {
  hasCode,
  nextChannelError,
  openChannel,
  openConfirmChannel,
  within,
} from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

/**
 * Publishes one message per key (with confirms, so routing is done) and returns, per key, the
 * sorted names of the queues that received it. Every queue is drained in between.
 */
async function routes(
  ch: amqp.ConfirmChannel,
  exchange: string,
  queues: string[],
  keys: string[],
  headers?: (key: string) => Record<string, unknown> | undefined,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const key of keys) {
    const h = headers?.(key);
    ch.publish(exchange, key, Buffer.from(key), h === undefined ? {} : { headers: h });
    await ch.waitForConfirms();
    const got: string[] = [];
    for (const q of queues) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) continue;
      assert.equal(m.content.toString(), key);
      got.push(q);
      assert.equal(await ch.get(q, { noAck: true }), false, `${q} got '${key}' twice`);
    }
    out[key] = got.sort();
  }
  return out;
}

async function queues(ch: amqp.Channel, names: string[]): Promise<void> {
  for (const n of names) await ch.assertQueue(n, { durable: false });
}

void test('direct exchange routes by exact routing key, to every queue bound with it (AMQP 0-9-1 §3.1.3.1)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('dx', 'direct', { durable: false });
  await queues(ch, ['q1', 'q2', 'q3']);
  await ch.bindQueue('q1', 'dx', 'a');
  await ch.bindQueue('q2', 'dx', 'b');
  await ch.bindQueue('q3', 'dx', 'a');
  await ch.bindQueue('q3', 'dx', 'b');
  // Binding twice is idempotent: still one copy.
  await ch.bindQueue('q1', 'dx', 'a');
  assert.deepEqual(await routes(ch, 'dx', ['q1', 'q2', 'q3'], ['a', 'b', 'c', 'A', '']), {
    a: ['q1', 'q3'],
    b: ['q2', 'q3'],
    c: [],
    A: [],
    '': [],
  });
});

void test('the default exchange routes to the queue named by the routing key (AMQP 0-9-1 §3.1.3.1)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await queues(ch, ['alpha', 'beta']);
  assert.deepEqual(await routes(ch, '', ['alpha', 'beta'], ['alpha', 'beta', 'gamma']), {
    alpha: ['alpha'],
    beta: ['beta'],
    gamma: [],
  });
  await assert.rejects(ch.bindQueue('alpha', '', 'x'), hasCode(403));
});

void test('fanout exchange copies every message to every bound queue, ignoring the key (AMQP 0-9-1 §3.1.3.2)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('fx', 'fanout', { durable: false });
  await queues(ch, ['f1', 'f2', 'f3']);
  await ch.bindQueue('f1', 'fx', '');
  await ch.bindQueue('f2', 'fx', 'whatever');
  assert.deepEqual(await routes(ch, 'fx', ['f1', 'f2', 'f3'], ['x', '', 'y.z']), {
    x: ['f1', 'f2'],
    '': ['f1', 'f2'],
    'y.z': ['f1', 'f2'],
  });
});

void test('a queue bound to one exchange twice with different keys still gets one copy (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('tx1', 'topic', { durable: false });
  await queues(ch, ['once']);
  await ch.bindQueue('once', 'tx1', 'a.*');
  await ch.bindQueue('once', 'tx1', '#');
  await ch.bindQueue('once', 'tx1', 'a.b');
  assert.deepEqual(await routes(ch, 'tx1', ['once'], ['a.b']), { 'a.b': ['once'] });
});

void test('topic exchange: * matches one word, # zero or more, including "#" alone and "a.#.b" (AMQP 0-9-1 §3.1.3.3, RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('tx', 'topic', { durable: false });
  const bindings: Record<string, string> = {
    all: '#',
    'a-hash-b': 'a.#.b',
    'a-star': 'a.*',
    star: '*',
    'star-orange-star': '*.orange.*',
    'lazy-hash': 'lazy.#',
    'hash-z': '#.z',
    exact: 'a.b',
    'star-star': '*.*',
  };
  await queues(ch, Object.keys(bindings));
  for (const [q, pattern] of Object.entries(bindings)) await ch.bindQueue(q, 'tx', pattern);
  const got = await routes(ch, 'tx', Object.keys(bindings), [
    'a',
    'a.b',
    'a.x.b',
    'a.x.y.b',
    'a.b.c',
    'b',
    'quick.orange.rabbit',
    'lazy',
    'lazy.orange.male.rabbit',
    'z',
    'y.z',
    'a.b.z',
  ]);
  assert.deepEqual(got, {
    a: ['all', 'star'],
    'a.b': ['a-hash-b', 'a-star', 'all', 'exact', 'star-star'],
    'a.x.b': ['a-hash-b', 'all'],
    'a.x.y.b': ['a-hash-b', 'all'],
    'a.b.c': ['all'],
    b: ['all', 'star'],
    'quick.orange.rabbit': ['all', 'star-orange-star'],
    lazy: ['all', 'lazy-hash', 'star'],
    'lazy.orange.male.rabbit': ['all', 'lazy-hash'],
    z: ['all', 'hash-z', 'star'],
    'y.z': ['all', 'hash-z', 'star-star'],
    'a.b.z': ['all', 'hash-z'],
  });
});

void test('topic exchange: the empty routing key has zero words, so "#" matches it and "*" does not (RabbitMQ split_topic_key)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('tx0', 'topic', { durable: false });
  await queues(ch, ['hash', 'star', 'empty']);
  await ch.bindQueue('hash', 'tx0', '#');
  await ch.bindQueue('star', 'tx0', '*');
  await ch.bindQueue('empty', 'tx0', '');
  assert.deepEqual(await routes(ch, 'tx0', ['hash', 'star', 'empty'], ['', 'w']), {
    '': ['empty', 'hash'],
    w: ['hash', 'star'],
  });
});

void test('headers exchange: x-match=all needs every header, x-match=any one of them; x- args are ignored (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('hx', 'headers', { durable: false });
  await queues(ch, ['h-all', 'h-any', 'h-default', 'h-num']);
  await ch.bindQueue('h-all', 'hx', '', { 'x-match': 'all', format: 'pdf', type: 'report' });
  await ch.bindQueue('h-any', 'hx', '', { 'x-match': 'any', format: 'pdf', type: 'report' });
  await ch.bindQueue('h-default', 'hx', '', { format: 'pdf' }); // x-match defaults to all
  await ch.bindQueue('h-num', 'hx', '', { 'x-match': 'all', n: 42, ok: true });
  const headers: Record<string, Record<string, unknown> | undefined> = {
    both: { format: 'pdf', type: 'report' },
    'both-plus': { format: 'pdf', type: 'report', extra: 'x' },
    'format-only': { format: 'pdf' },
    'type-only': { type: 'report' },
    wrong: { format: 'zip', type: 'log' },
    none: undefined,
    num: { n: 42, ok: true },
    'num-wrong': { n: 43, ok: true },
  };
  const got = await routes(
    ch,
    'hx',
    ['h-all', 'h-any', 'h-default', 'h-num'],
    Object.keys(headers),
    (k) => headers[k],
  );
  assert.deepEqual(got, {
    both: ['h-all', 'h-any', 'h-default'],
    'both-plus': ['h-all', 'h-any', 'h-default'],
    'format-only': ['h-any', 'h-default'],
    'type-only': ['h-any'],
    wrong: [],
    none: [],
    num: ['h-num'],
    'num-wrong': [],
  });
});

void test('exchange.bind: messages flow from source to destination exchange until exchange.unbind (RabbitMQ e2e bindings)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('src', 'direct', { durable: false });
  await ch.assertExchange('dst', 'fanout', { durable: false });
  await ch.assertExchange('dst2', 'topic', { durable: false });
  await queues(ch, ['from-dst', 'from-dst2', 'from-src']);
  await ch.bindQueue('from-dst', 'dst', '');
  await ch.bindQueue('from-dst2', 'dst2', 'k.#');
  await ch.bindQueue('from-src', 'src', 'k');
  await ch.bindExchange('dst', 'src', 'k');
  await ch.bindExchange('dst2', 'src', 'k');
  // A cycle back to the source must not loop or duplicate.
  await ch.bindExchange('src', 'dst', '');
  const qs = ['from-dst', 'from-dst2', 'from-src'];
  assert.deepEqual(await routes(ch, 'src', qs, ['k', 'other']), {
    k: ['from-dst', 'from-dst2', 'from-src'],
    other: [],
  });
  await ch.unbindExchange('dst', 'src', 'k');
  assert.deepEqual(await routes(ch, 'src', qs, ['k']), { k: ['from-dst2', 'from-src'] });
  // Publishing to the destination: its own queue, then back through the cycle into the source,
  // which routes by the original key.
  assert.deepEqual(await routes(ch, 'dst', qs, ['k', 'x']), {
    k: ['from-dst', 'from-dst2', 'from-src'],
    x: ['from-dst'],
  });
});

void test('alternate-exchange takes messages the exchange cannot route (RabbitMQ AE)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('ae', 'fanout', { durable: false });
  await ch.assertExchange('main', 'direct', { durable: false, alternateExchange: 'ae' });
  await queues(ch, ['main-q', 'ae-q']);
  await ch.bindQueue('main-q', 'main', 'known');
  await ch.bindQueue('ae-q', 'ae', '');
  assert.deepEqual(await routes(ch, 'main', ['main-q', 'ae-q'], ['known', 'unknown']), {
    known: ['main-q'],
    unknown: ['ae-q'],
  });
});

void test('publishing to an internal exchange closes the channel with 403 ACCESS_REFUSED; e2e bindings still feed it (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertExchange('inner', 'fanout', { durable: false, internal: true });
  await ch.assertExchange('outer', 'fanout', { durable: false });
  await queues(ch, ['inner-q']);
  await ch.bindQueue('inner-q', 'inner', '');
  await ch.bindExchange('inner', 'outer', '');
  assert.deepEqual(await routes(ch, 'outer', ['inner-q'], ['via-outer']), {
    'via-outer': ['inner-q'],
  });
  const bad = await openChannel(conn);
  const err = nextChannelError(bad);
  bad.publish('inner', '', Buffer.from('direct to internal'));
  assert.equal((await within(err, 'channel.close')).code, 403);
  assert.equal((await ch.checkQueue('inner-q')).messageCount, 0);
});

void test('exchange.delete if-unused on an exchange with bindings fails 406; succeeds once unbound (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertExchange('busy', 'direct', { durable: false });
  await ch.assertQueue('bq', { durable: false });
  await ch.bindQueue('bq', 'busy', 'k');
  await assert.rejects(ch.deleteExchange('busy', { ifUnused: true }), hasCode(406));
  const ch2 = await openChannel(conn);
  await ch2.checkExchange('busy'); // still there
  await ch2.unbindQueue('bq', 'busy', 'k');
  await ch2.deleteExchange('busy', { ifUnused: true });
  await assert.rejects(ch2.checkExchange('busy'), hasCode(404));
});

void test('exchange.delete removes its bindings; deleting a missing exchange succeeds (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('gone', 'fanout', { durable: false });
  await ch.assertQueue('gq', { durable: false });
  await ch.bindQueue('gq', 'gone', '');
  await ch.deleteExchange('gone');
  await ch.deleteExchange('never-existed');
  // Re-creating it does not bring the old binding back.
  await ch.assertExchange('gone', 'fanout', { durable: false });
  assert.deepEqual(await routes(ch, 'gone', ['gq'], ['x']), { x: [] });
});

void test('exchange.declare passive on a missing exchange closes the channel with 404 NOT_FOUND (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await assert.rejects(ch.checkExchange('missing-x'), hasCode(404));
  const ch2 = await openChannel(conn);
  await ch2.checkExchange('amq.direct');
  await ch2.checkExchange('amq.topic');
  await ch2.checkExchange('amq.fanout');
  await ch2.checkExchange('amq.headers');
  await ch2.checkExchange('amq.match');
});

void test('exchange.declare with a different type than the existing exchange fails 406 PRECONDITION_FAILED (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertExchange('typed', 'direct', { durable: false });
  await ch.assertExchange('typed', 'direct', { durable: false }); // same: fine
  await assert.rejects(ch.assertExchange('typed', 'fanout', { durable: false }), hasCode(406));
  const ch2 = await openChannel(conn);
  await assert.rejects(ch2.assertExchange('typed', 'direct', { durable: true }), hasCode(406));
});

void test('exchange.declare of an amq.* name is refused 403; of an unknown type 406 on that channel only (RabbitMQ 3.12+)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await assert.rejects(ch.assertExchange('amq.custom', 'direct', { durable: false }), hasCode(403));
  const ch2 = await openChannel(conn);
  // Re-declaring a built-in with its own properties is allowed.
  await ch2.assertExchange('amq.direct', 'direct', { durable: true });
  await assert.rejects(ch2.deleteExchange('amq.direct'), hasCode(403));
  const ch3 = await openChannel(conn);
  await assert.rejects(
    ch3.assertExchange('weird', 'no-such-type', { durable: false }),
    (e: Error) => hasCode(406)(e) && /unknown exchange type 'no-such-type'/.test(e.message),
  );
  // The connection lives on (RabbitMQ closed it with 503 before 3.12).
  const ch4 = await openChannel(conn);
  await ch4.assertExchange('fine', 'direct', { durable: false });
});

void test('exchange.declare of the default exchange "" is refused 403 ACCESS_REFUSED (RabbitMQ check_not_default_exchange)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await assert.rejects(ch.assertExchange('', 'direct', { durable: true }), hasCode(403));
});

void test('auto-delete exchange is deleted when its last binding is removed (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertExchange('ad-x', 'fanout', { durable: false, autoDelete: true });
  await ch.assertQueue('ad-q', { durable: false });
  await ch.bindQueue('ad-q', 'ad-x', '');
  await ch.checkExchange('ad-x');
  await ch.unbindQueue('ad-q', 'ad-x', '');
  await assert.rejects(ch.checkExchange('ad-x'), hasCode(404));
});

void test('durable exchanges and their bindings survive a broker restart; transient ones do not (AMQP 0-9-1 §3.1.3)', async (t) => {
  const broker = await startBroker(t);
  {
    const conn = await connect(t, broker.url);
    const ch = await openChannel(conn);
    await ch.assertExchange('dur-x', 'topic', { durable: true });
    await ch.assertExchange('dur-x2', 'fanout', { durable: true });
    await ch.assertExchange('tmp-x', 'topic', { durable: false });
    await ch.assertExchange('dur-ae', 'fanout', { durable: true });
    await ch.assertExchange('dur-with-ae', 'direct', {
      durable: true,
      alternateExchange: 'dur-ae',
    });
    await ch.assertExchange('dur-internal', 'fanout', { durable: true, internal: true });
    await ch.assertQueue('dur-q', { durable: true });
    await ch.assertQueue('dur-q2', { durable: true });
    await ch.assertQueue('dur-ae-q', { durable: true });
    await ch.assertQueue('tmp-q', { durable: false });
    await ch.bindQueue('dur-q', 'dur-x', 'a.*');
    await ch.bindQueue('tmp-q', 'dur-x', 'a.*');
    await ch.bindQueue('dur-q', 'tmp-x', '#');
    await ch.bindExchange('dur-x2', 'dur-x', 'b.#');
    await ch.bindQueue('dur-q2', 'dur-x2', '');
    await ch.bindQueue('dur-ae-q', 'dur-ae', '');
    await ch.bindQueue('dur-q', 'amq.direct', 'builtin');
    // One binding removed before the restart must stay removed.
    await ch.bindQueue('dur-q', 'dur-x', 'removed.*');
    await ch.unbindQueue('dur-q', 'dur-x', 'removed.*');
    await conn.close();
  }
  await broker.restart();
  const conn = await connect(t, broker.url);
  const ch = await openConfirmChannel(conn);
  await ch.checkExchange('dur-x');
  await ch.checkExchange('dur-x2');
  await ch.checkQueue('dur-q');
  const probe = await openChannel(conn);
  await assert.rejects(probe.checkExchange('tmp-x'), hasCode(404));
  const probe2 = await openChannel(conn);
  await assert.rejects(probe2.checkQueue('tmp-q'), hasCode(404));
  // Type, durability and internal flag came back too.
  const probe3 = await openChannel(conn);
  await assert.rejects(probe3.assertExchange('dur-x', 'direct', { durable: true }), hasCode(406));
  await ch.assertExchange('dur-internal', 'fanout', { durable: true, internal: true });
  const qs = ['dur-q', 'dur-q2', 'dur-ae-q'];
  assert.deepEqual(await routes(ch, 'dur-x', qs, ['a.x', 'b.x', 'removed.x', 'c']), {
    'a.x': ['dur-q'],
    'b.x': ['dur-q2'],
    'removed.x': [],
    c: [],
  });
  assert.deepEqual(await routes(ch, 'amq.direct', qs, ['builtin']), { builtin: ['dur-q'] });
  assert.deepEqual(await routes(ch, 'dur-with-ae', qs, ['unroutable']), {
    unroutable: ['dur-ae-q'],
  });
});
