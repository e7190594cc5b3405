import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { controlRequest } from '../../src/protocol/control/client.js';
import { requireCapability } from '../helpers/broker-child.js';
import { connect, startBroker } from '../helpers/server.js';
import { GUEST, getJson, publishConfirmed, setTracing } from '../helpers/tracing.js';

const LIFE = '/api/baton/trace/%2F/messages/';

function publish(
  ch: amqp.ConfirmChannel,
  rk: string,
  body: string,
  o: amqp.Options.Publish,
): Promise<void> {
  return publishConfirmed(ch, '', rk, body, o);
}

type Event = Record<string, unknown>;

void test("a message's whole life by message-id: published, routed, delivered, nacked, dead-lettered, redriven, acked", async (t) => {
  const { url, server } = await startBroker(t, { httpPort: 0 });
  const http = server.ports.get('http')!;
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('orders.dlq');
  await ch.assertQueue('orders', {
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'orders.dlq' },
  });
  assert.equal((await setTracing(http, true)).status, 204);

  await publish(ch, 'orders', 'o1', { messageId: 'order-1' });
  await publish(ch, 'orders', 'anonymous', {}); // no message-id: not in the log
  const first = await ch.get('orders', { noAck: false });
  assert.ok(first);
  ch.nack(first, false, false);
  const anonymous = await ch.get('orders', { noAck: true });
  assert.ok(anonymous);
  const moved = await controlRequest(server.controlSocket!, { op: 'redrive', queue: 'orders.dlq' });
  assert.equal(moved.moved, 1);
  const second = await new Promise<amqp.ConsumeMessage>((resolve) => {
    void ch.consume('orders', (m) => m && resolve(m), { consumerTag: 'worker' });
  });
  ch.ack(second);
  await ch.cancel('worker'); // a round trip: the ack has been handled

  const { status, body } = await getJson(http, `${LIFE}order-1`);
  assert.equal(status, 200);
  assert.equal(body.message_id, 'order-1');
  const events = body.events as Event[];
  assert.deepEqual(
    events.map((e) => e.event),
    [
      'published',
      'routed',
      'delivered',
      'nacked',
      'dead-lettered',
      'redriven',
      'delivered',
      'acked',
    ],
  );
  for (const e of events) assert.match(String(e.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const times = events.map((e) => Date.parse(String(e.time)));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
    'in time order',
  );
  const [published, routed, got, nacked, dead, redriven, consumed, acked] = events;
  assert.equal(published!.exchange, '');
  assert.equal(published!.routing_key, 'orders');
  assert.equal(published!.user, 'guest');
  assert.equal(published!.channel, 1);
  assert.match(String(published!.connection), /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
  assert.deepEqual(routed!.queues, ['orders']);
  assert.equal(got!.queue, 'orders');
  assert.equal(got!.consumer_tag, 'get');
  assert.equal(got!.redelivered, false);
  assert.deepEqual(
    { queue: nacked!.queue, requeue: nacked!.requeue },
    { queue: 'orders', requeue: false },
  );
  assert.deepEqual(
    { queue: dead!.queue, reason: dead!.reason, exchange: dead!.exchange, to: dead!.queues },
    { queue: 'orders', reason: 'rejected', exchange: '', to: ['orders.dlq'] },
  );
  assert.deepEqual(
    { queue: redriven!.queue, to: redriven!.to },
    { queue: 'orders.dlq', to: 'orders' },
  );
  assert.equal(consumed!.consumer_tag, 'worker');
  assert.equal(acked!.queue, 'orders');

  const list = await getJson(http, '/api/baton/trace/%2F');
  assert.equal(list.status, 200);
  const ids = (list.body.messages as Event[]).map((m) => m.message_id);
  assert.deepEqual(ids, ['order-1']);
  assert.equal((list.body.messages as Event[])[0]!.last_event, 'acked');

  const missing = await getJson(http, `${LIFE}nope`);
  assert.equal(missing.status, 404);
  assert.match(String(missing.body.reason), /no traced events for message-id 'nope'/);
});

void test('trace log: requeue by nack, expiry, purge and unroutable returns are events too', async (t) => {
  const { url, server } = await startBroker(t, { httpPort: 0 });
  const http = server.ports.get('http')!;
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('q');
  assert.equal((await setTracing(http, true)).status, 204);
  await publish(ch, 'q', 'a', { messageId: 'a' });
  const a = await ch.get('q', { noAck: false });
  assert.ok(a);
  ch.nack(a, false, true);
  await ch.purgeQueue('q');
  await publish(ch, 'q', 'gone', { messageId: 'b', expiration: '0' });
  await publish(ch, 'no-such-queue', 'lost', { messageId: 'c', mandatory: true });
  await ch.checkQueue('q'); // a round trip
  const life = async (id: string): Promise<string[]> =>
    ((await getJson(http, `${LIFE}${id}`)).body.events as Event[]).map((e) =>
      e.event === 'nacked' ? `nacked requeue=${String(e.requeue)}` : String(e.event),
    );
  assert.deepEqual(await life('a'), [
    'published',
    'routed',
    'delivered',
    'nacked requeue=true',
    'purged',
  ]);
  assert.deepEqual(await life('b'), ['published', 'routed', 'expired']);
  assert.deepEqual(await life('c'), ['published', 'returned']);

  // A delayed exchange holds it, then routes it when due.
  await ch.assertExchange('later', 'x-delayed-message', {
    arguments: { 'x-delayed-type': 'direct' },
  });
  await ch.bindQueue('q', 'later', 'k');
  await publishConfirmed(ch, 'later', 'k', 'd', { messageId: 'd', headers: { 'x-delay': 20 } });
  await new Promise<void>((resolve) => {
    void ch.consume('q', (m) => m && resolve(), { noAck: true });
  });
  const d = (await getJson(http, `${LIFE}d`)).body.events as Event[];
  assert.deepEqual(
    d.map((e) => [e.event, e.exchange ?? e.queue, e.queues ?? e.delayed_by ?? null]),
    [
      ['published', 'later', null],
      ['routed', undefined, []],
      ['routed', 'later', ['q']],
      ['delivered', 'q', null],
      ['acked', 'q', null],
    ],
  );
  assert.deepEqual(d[1]!.delayed_by, ['later']);
});

void test('trace endpoints need tracing on (409); PUT /api/vhosts refuses what Baton cannot do; tracing is not kept across a restart', async (t) => {
  const b = await startBroker(t, { httpPort: 0 });
  let http = b.server.ports.get('http')!;
  const off = await getJson(http, '/api/baton/trace/%2F');
  assert.equal(off.status, 409);
  assert.match(
    String(off.body.reason),
    /tracing is off for vhost '\/': turn it on with PUT \/api\/vhosts\/%2F/,
  );
  assert.equal((await getJson(http, `${LIFE}x`)).status, 409);
  assert.equal((await getJson(http, '/api/baton/trace/other')).status, 404);

  const put = async (vhost: string, body: unknown): Promise<{ status: number; reason: string }> => {
    const res = await fetch(`http://127.0.0.1:${http}/api/vhosts/${encodeURIComponent(vhost)}`, {
      method: 'PUT',
      headers: { authorization: GUEST, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, reason: text === '' ? '' : String(JSON.parse(text).reason) };
  };
  // Another vhost is created with its tracing on (201).
  assert.equal((await put('other', { tracing: true })).status, 201);
  assert.equal((await getJson(http, '/api/baton/trace/other')).status, 200);
  assert.deepEqual(await put('/', { tracing: 'yes' }), {
    status: 400,
    reason: "field 'tracing' must be true or false, got string",
  });
  const unknown = await put('/', { tracing: true, colour: 'red' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.reason, /unknown field 'colour'/);
  const quorum = await put('/', { tracing: true, default_queue_type: 'quorum' });
  assert.equal(quorum.status, 501);
  assert.match(quorum.reason, /default_queue_type 'quorum' is not implemented/);
  assert.equal(
    (await getJson(http, '/api/baton/trace/%2F')).status,
    409,
    'refused PUTs change nothing',
  );
  // rabbitmqadmin sends text; RabbitMQ's defaults are accepted as they are what Baton has.
  assert.equal(
    (
      await put('/', {
        name: '/',
        tracing: 'true',
        description: '',
        tags: [],
        default_queue_type: 'classic',
      })
    ).status,
    204,
  );
  assert.equal((await getJson(http, '/api/baton/trace/%2F')).status, 200);

  // As RabbitMQ's trace_on: off again after a restart.
  const server = await b.restart();
  http = server.ports.get('http')!;
  assert.equal((await getJson(http, '/api/baton/trace/%2F')).status, 409);
  assert.equal(server.broker.vhost('/').tracing, false);
});

void test('rabbitmqadmin declare vhost name=/ tracing=true|false switches tracing, as against RabbitMQ', async (t) => {
  const admin = '/usr/bin/rabbitmqadmin';
  if (requireCapability(t, existsSync(admin), `${admin} missing (apt-get install rabbitmq-server)`))
    return;
  const { server } = await startBroker(t, { httpPort: 0 });
  const http = server.ports.get('http')!;
  const run = (tracing: string): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile(
        '/usr/bin/python3',
        [
          admin,
          '-H',
          '127.0.0.1',
          '-P',
          String(http),
          'declare',
          'vhost',
          'name=/',
          `tracing=${tracing}`,
        ],
        { timeout: 30_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout),
      ),
    );
  assert.match(await run('true'), /vhost declared/);
  assert.equal(server.broker.vhost('/').tracing, true);
  assert.equal((await getJson(http, '/api/baton/trace/%2F')).status, 200);
  assert.match(await run('false'), /vhost declared/);
  assert.equal(server.broker.vhost('/').tracing, false);
});

void test('trace endpoints are for administrators: monitoring is refused 403 even where it may read, no login 401', async (t) => {
  const { url, server } = await startBroker(t, { httpPort: 0 });
  const http = server.ports.get('http')!;
  const access = server.broker.access;
  const FULL = { configure: '.*', write: '.*', read: '.*' };
  access.putUser('mon', { password: 'mon-pw', tags: ['monitoring'] });
  access.putUser('mon-here', { password: 'mon-pw', tags: ['monitoring'] });
  access.setPermissions('mon-here', '/', FULL);
  access.putUser('boss', { password: 'boss-pw', tags: ['administrator'] });
  assert.equal((await setTracing(http, true)).status, 204);
  const ch = await (await connect(t, url)).createConfirmChannel();
  await ch.assertQueue('traced');
  await publish(ch, 'traced', 'secret order', { messageId: 'm-1' });

  const call = (path: string, creds?: string) =>
    fetch(`http://127.0.0.1:${http}${path}`, {
      headers:
        creds === undefined
          ? {}
          : { authorization: `Basic ${Buffer.from(creds).toString('base64')}` },
    });
  for (const path of ['/api/baton/trace/%2F', `${LIFE}m-1`]) {
    for (const creds of ['mon:mon-pw', 'mon-here:mon-pw']) {
      const r = await call(path, creds);
      const text = await r.text();
      assert.equal(r.status, 403, `${creds} ${path}: ${text}`);
      assert.equal((JSON.parse(text) as { reason: string }).reason, 'Not administrator user');
    }
    assert.equal((await call(path)).status, 401);
    for (const creds of ['boss:boss-pw', 'guest:guest']) {
      const r = await call(path, creds);
      const text = await r.text();
      assert.equal(r.status, 200, `${creds} ${path}: ${text}`);
      assert.ok(text.includes('"m-1"'), text);
    }
  }
  // Monitoring still reads the vhost itself; only its traffic is kept from it.
  assert.equal((await call('/api/queues/%2F/traced', 'mon:mon-pw')).status, 200);
});
