// The write side of the management HTTP API (RabbitMQ's paths, bodies and status codes),
// driven with fetch and checked with a real AMQP client (amqplib).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { MAX_BODY } from '../../src/protocol/http/management.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { connect, startBroker } from '../helpers/server.js';

const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

interface Api {
  call(method: string, path: string, body?: unknown): Promise<Response>;
  json(method: string, path: string, body?: unknown): Promise<unknown>;
}

async function start(t: TestContext) {
  const b = await startBroker(t, { httpPort: 0 });
  const api = (): Api => {
    const base = `http://127.0.0.1:${b.server.ports.get('http')}`;
    const call = (method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(base + path, {
        method,
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        ...(body === undefined
          ? {}
          : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    return {
      call,
      async json(method, path, body) {
        const r = await call(method, path, body);
        const text = await r.text();
        assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
        return text === '' ? undefined : (JSON.parse(text) as unknown);
      },
    };
  };
  return { ...b, api };
}

async function problem(r: Response, status: number, includes: string): Promise<void> {
  const body = (await r.json()) as { error: string; reason: string };
  assert.equal(r.status, status, JSON.stringify(body));
  assert.ok(
    body.reason.includes(includes),
    `reason ${JSON.stringify(body.reason)} lacks ${includes}`,
  );
}

void test('PUT /api/queues declares (201, then 204 when equivalent, 400 when not); the queue is consumable over AMQP', async (t) => {
  const { api, url } = await start(t);
  const a = api();
  const r1 = await a.call('PUT', '/api/queues/%2F/orders', {
    durable: true,
    auto_delete: false,
    arguments: { 'x-max-length': 10 },
  });
  assert.equal(r1.status, 201);
  // rabbitmqadmin's form: booleans as strings, name and vhost repeated.
  const r2 = await a.call('PUT', '/api/queues/%2F/orders', {
    name: 'orders',
    vhost: '/',
    durable: 'true',
    auto_delete: 'false',
    arguments: { 'x-max-length': 10 },
  });
  assert.equal(r2.status, 204);
  await problem(
    await a.call('PUT', '/api/queues/%2F/orders', { durable: false }),
    400,
    "inequivalent arg 'durable' for queue 'orders'",
  );
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  const ok = await ch.checkQueue('orders');
  assert.equal(ok.queue, 'orders');
  ch.sendToQueue('orders', Buffer.from('hi'));
  const got = await new Promise<string>((resolve) => {
    void ch.consume('orders', (m) => m && resolve(m.content.toString()), { noAck: true });
  });
  assert.equal(got, 'hi');
});

void test('bad input: not JSON, wrong types, unknown fields, unknown vhost, reserved names, body too large', async (t) => {
  const { api } = await start(t);
  const a = api();
  await problem(await a.call('PUT', '/api/queues/%2F/q', '{nope'), 400, 'not JSON');
  await problem(
    await a.call('PUT', '/api/queues/%2F/q', { durable: 'yes' }),
    400,
    "field 'durable'",
  );
  await problem(await a.call('PUT', '/api/queues/%2F/q', { durabel: true }), 400, "'durabel'");
  await problem(
    await a.call('PUT', '/api/queues/%2F/q', { arguments: [] }),
    400,
    "field 'arguments'",
  );
  await problem(await a.call('PUT', '/api/queues/nope/q', {}), 404, "vhost 'nope'");
  await problem(
    await a.call('PUT', '/api/queues/%2F/amq.mine', {}),
    403,
    "reserved prefix 'amq.*'",
  );
  await problem(
    await a.call('PUT', '/api/exchanges/%2F/amq.default', { type: 'direct' }),
    403,
    'default exchange',
  );
  await problem(await a.call('DELETE', '/api/exchanges/%2F/amq.direct'), 403, 'built in');
  await problem(
    await a.call('PUT', '/api/exchanges/%2F/x', { type: 'nope' }),
    400,
    "unknown exchange type 'nope'",
  );
  await problem(await a.call('DELETE', '/api/queues/%2F/missing'), 404, "no queue 'missing'");
  await problem(await a.call('DELETE', '/api/exchanges/%2F/missing'), 404, "no exchange 'missing'");
  await problem(
    await a.call('DELETE', '/api/queues/%2F/missing/contents'),
    404,
    "no queue 'missing'",
  );
  await problem(
    await a.call('POST', '/api/exchanges/%2F/amq.default/publish', {
      routing_key: 'q',
      payload: 'x',
      payload_encoding: 'string',
      properties: { delivery_mod: 2 },
    }),
    400,
    "unknown property 'delivery_mod'",
  );
  await problem(
    await a.call('POST', '/api/exchanges/%2F/amq.default/publish', {
      routing_key: 'q',
      payload: 'x',
      properties: { priority: 'high' },
    }),
    400,
    "property 'priority'",
  );
  const big = await a.call(
    'PUT',
    '/api/queues/%2F/q',
    `{"arguments":{"x":"${'a'.repeat(MAX_BODY)}"}}`,
  );
  assert.equal(big.status, 413);
  await big.body?.cancel();
});

void test('an exclusive queue of an AMQP connection is locked for the API (409)', async (t) => {
  const { api, url } = await start(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  const path = `/api/queues/%2F/${encodeURIComponent(queue)}`;
  await problem(await api().call('DELETE', path), 409, 'exclusive');
  await problem(
    await api().call('POST', `${path}/get`, {
      count: 1,
      ackmode: 'ack_requeue_false',
      encoding: 'auto',
    }),
    409,
    'exclusive',
  );
});

void test('publish over HTTP arrives over AMQP with its properties and headers; routed false when unroutable', async (t) => {
  const { api, url } = await start(t);
  const a = api();
  await a.json('PUT', '/api/queues/%2F/inbox', { durable: true });
  const res = await a.json('POST', '/api/exchanges/%2F/amq.default/publish', {
    routing_key: 'inbox',
    payload: Buffer.from([0, 1, 2, 255]).toString('base64'),
    payload_encoding: 'base64',
    properties: {
      delivery_mode: 2,
      content_type: 'application/octet-stream',
      correlation_id: 'c-1',
      message_id: 'm-1',
      priority: 3,
      timestamp: 1700000000,
      type: 'order.created',
      app_id: 'tests',
      reply_to: 'answers',
      user_id: 'guest',
      headers: { tenant: 'acme', attempt: 2, nested: { ok: true }, list: ['a', 1] },
    },
  });
  assert.deepEqual(res, { routed: true });
  assert.deepEqual(
    await a.json('POST', '/api/exchanges/%2F/amq.direct/publish', {
      routing_key: 'nowhere',
      payload: 'lost',
      payload_encoding: 'string',
      properties: {},
    }),
    { routed: false },
  );
  await problem(
    await a.call('POST', '/api/exchanges/%2F/amq.default/publish', {
      routing_key: 'inbox',
      payload: 'x',
      properties: { user_id: 'mallory' },
    }),
    400,
    "user_id property set to 'mallory'",
  );
  await problem(
    await a.call('POST', '/api/exchanges/%2F/missing/publish', { routing_key: 'x', payload: 'x' }),
    404,
    "no exchange 'missing'",
  );
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  const m = await ch.get('inbox', { noAck: true });
  assert.ok(m !== false);
  assert.deepEqual([...m.content], [0, 1, 2, 255]);
  const p = m.properties;
  assert.equal(p.deliveryMode, 2);
  assert.equal(p.contentType, 'application/octet-stream');
  assert.equal(p.correlationId, 'c-1');
  assert.equal(p.messageId, 'm-1');
  assert.equal(p.priority, 3);
  assert.equal(p.timestamp, 1700000000);
  assert.equal(p.type, 'order.created');
  assert.equal(p.appId, 'tests');
  assert.equal(p.replyTo, 'answers');
  assert.equal(p.userId, 'guest');
  assert.deepEqual(p.headers, { tenant: 'acme', attempt: 2, nested: { ok: true }, list: ['a', 1] });
  assert.equal(m.fields.routingKey, 'inbox');
});

void test('get: each ackmode leaves the right count; requeued messages come back redelivered', async (t) => {
  const { api, url } = await start(t);
  const a = api();
  await a.json('PUT', '/api/queues/%2F/work', { durable: true });
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  for (let i = 0; i < 6; i++)
    ch.sendToQueue('work', Buffer.from(`m${i}`), { persistent: true, headers: { n: i } });
  await ch.waitForConfirms();
  const get = (ackmode: string, count: number | string, extra: object = {}) =>
    a.json('POST', '/api/queues/%2F/work/get', {
      count,
      ackmode,
      encoding: 'auto',
      ...extra,
    }) as Promise<Record<string, unknown>[]>;
  const depth = async () => (await ch.checkQueue('work')).messageCount;

  const peek = await get('ack_requeue_true', '2');
  assert.equal(peek.length, 2);
  assert.deepEqual(peek[0], {
    payload_bytes: 2,
    redelivered: false,
    exchange: '',
    routing_key: 'work',
    message_count: 5,
    properties: { headers: { n: 0 }, delivery_mode: 2 },
    payload: 'm0',
    payload_encoding: 'string',
  });
  assert.equal(await depth(), 6);
  const again = await get('reject_requeue_true', 1);
  assert.equal(again[0]!.payload, 'm0');
  assert.equal(again[0]!.redelivered, true);
  assert.equal(await depth(), 6);

  const taken = await get('ack_requeue_false', 2);
  assert.deepEqual(
    taken.map((m) => m.payload),
    ['m0', 'm1'],
  );
  assert.equal(await depth(), 4);
  const dropped = await get('reject_requeue_false', 1, { truncate: 1 });
  assert.equal(dropped[0]!.payload, 'm');
  assert.equal(dropped[0]!.payload_bytes, 2);
  assert.equal(await depth(), 3);
  const b64 = await a.json('POST', '/api/queues/%2F/work/get', {
    count: 1,
    ackmode: 'ack_requeue_true',
    encoding: 'base64',
  });
  assert.equal(
    (b64 as Record<string, unknown>[])[0]!.payload,
    Buffer.from('m3').toString('base64'),
  );
  assert.equal((b64 as Record<string, unknown>[])[0]!.payload_encoding, 'base64');
  const rest = await get('ack_requeue_false', 10);
  assert.deepEqual(
    rest.map((m) => m.payload),
    ['m3', 'm4', 'm5'],
  );
  assert.deepEqual(await get('ack_requeue_false', 1), []);
  assert.equal(await depth(), 0);
});

void test('purge empties a queue (204); delete honours if-empty and if-unused', async (t) => {
  const { api, url } = await start(t);
  const a = api();
  await a.json('PUT', '/api/queues/%2F/p', { durable: true });
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  for (let i = 0; i < 3; i++) ch.sendToQueue('p', Buffer.from('x'), { persistent: true });
  await ch.waitForConfirms();
  await problem(await a.call('DELETE', '/api/queues/%2F/p?if-empty=true'), 400, 'not empty');
  const r = await a.call('DELETE', '/api/queues/%2F/p/contents');
  assert.equal(r.status, 204);
  assert.equal((await ch.checkQueue('p')).messageCount, 0);
  await ch.consume('p', () => {});
  await problem(await a.call('DELETE', '/api/queues/%2F/p?if-unused=true'), 400, 'in use');
  assert.equal((await a.call('DELETE', '/api/queues/%2F/p')).status, 204);
  await assert.rejects(
    conn.createChannel().then((c) => c.checkQueue('p')),
    /404/,
  );
  await problem(
    await a.call('POST', '/api/queues/%2F/missing/actions', { action: 'sync' }),
    404,
    'missing',
  );
});

void test('exchanges and bindings: declare, bind with Location, route, unbind by properties_key, delete if-unused', async (t) => {
  const { api, url } = await start(t);
  const a = api();
  assert.equal(
    (await a.call('PUT', '/api/exchanges/%2F/events', { type: 'topic', durable: true })).status,
    201,
  );
  assert.equal(
    (await a.call('PUT', '/api/exchanges/%2F/events', { type: 'topic', durable: 'true' })).status,
    204,
  );
  await problem(
    await a.call('PUT', '/api/exchanges/%2F/events', { type: 'fanout', durable: true }),
    400,
    "inequivalent arg 'type'",
  );
  assert.equal(
    (await a.call('PUT', '/api/exchanges/%2F/audit', { type: 'fanout', durable: true })).status,
    201,
  );
  await a.json('PUT', '/api/queues/%2F/orders', { durable: true });
  await a.json('PUT', '/api/queues/%2F/all', { durable: true });

  const b1 = await a.call('POST', '/api/bindings/%2F/e/events/q/orders', {
    routing_key: 'order.*',
    arguments: {},
  });
  assert.equal(b1.status, 201);
  // properties_key is the quoted routing key, quoted again in the path, as RabbitMQ's.
  assert.equal(b1.headers.get('location'), '/api/bindings/%2F/e/events/q/orders/order.*');
  const b2 = await a.call('POST', '/api/bindings/%2F/e/events/e/audit', {
    routing_key: '#',
    arguments: { why: 'audit' },
  });
  assert.equal(b2.status, 201);
  const loc2 = b2.headers.get('location')!;
  assert.match(loc2, /^\/api\/bindings\/%2F\/e\/events\/e\/audit\/%2523~[A-Za-z0-9_-]{6}$/);
  await a.json('POST', '/api/bindings/%2F/e/audit/q/all', {});
  await problem(
    await a.call('POST', '/api/bindings/%2F/e/events/q/nope', {}),
    404,
    "no queue 'nope'",
  );

  const routed = await a.json('POST', '/api/exchanges/%2F/events/publish', {
    routing_key: 'order.created',
    payload: 'o',
    payload_encoding: 'string',
    properties: {},
  });
  assert.deepEqual(routed, { routed: true });
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  assert.equal((await ch.checkQueue('orders')).messageCount, 1);
  assert.equal((await ch.checkQueue('all')).messageCount, 1);

  await problem(await a.call('DELETE', '/api/exchanges/%2F/audit?if-unused=true'), 400, 'in use');
  assert.equal((await a.call('DELETE', loc2)).status, 204);
  assert.equal((await a.call('DELETE', '/api/bindings/%2F/e/events/q/orders/order.*')).status, 204);
  await problem(
    await a.call('DELETE', '/api/bindings/%2F/e/events/q/orders/order.*'),
    404,
    'no binding',
  );
  // The default-key form rabbitmqadmin uses: "~" is an empty routing key without arguments.
  assert.equal((await a.call('DELETE', '/api/bindings/%2F/e/audit/q/all/~')).status, 204);
  assert.equal((await a.call('DELETE', '/api/exchanges/%2F/audit?if-unused=true')).status, 204);
  ch.publish('events', 'order.created', Buffer.from('again'));
  await ch.assertQueue('orders', { durable: true });
  assert.equal((await ch.checkQueue('orders')).messageCount, 1);
  await assert.rejects(ch.checkExchange('audit'), /404/);
});

void test('definitions: export, delete everything, import restores queues, exchanges and bindings, and they survive a restart', async (t) => {
  const b = await start(t);
  const a = b.api();
  await a.json('PUT', '/api/exchanges/%2F/events', {
    type: 'topic',
    durable: true,
    arguments: { 'alternate-exchange': 'amq.fanout' },
  });
  await a.json('PUT', '/api/queues/%2F/orders', {
    durable: true,
    arguments: { 'x-max-length': 100 },
  });
  await a.json('PUT', '/api/queues/%2F/scratch', { durable: false });
  await a.json('POST', '/api/bindings/%2F/e/events/q/orders', {
    routing_key: 'order.#',
    arguments: { 'x-match': 'all' },
  });
  const defs = (await a.json('GET', '/api/definitions')) as Record<string, unknown>;
  for (const key of [
    'rabbit_version',
    'rabbitmq_version',
    'product_name',
    'product_version',
    'users',
    'vhosts',
    'permissions',
    'topic_permissions',
    'parameters',
    'global_parameters',
    'policies',
    'queues',
    'exchanges',
    'bindings',
  ])
    assert.ok(key in defs, `export has ${key}`);
  assert.deepEqual(defs.queues, [
    {
      name: 'orders',
      vhost: '/',
      durable: true,
      auto_delete: false,
      arguments: { 'x-max-length': 100 },
    },
  ]);
  assert.deepEqual(defs.exchanges, [
    {
      name: 'events',
      vhost: '/',
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: { 'alternate-exchange': 'amq.fanout' },
    },
  ]);
  assert.deepEqual(defs.bindings, [
    {
      source: 'events',
      vhost: '/',
      destination: 'orders',
      destination_type: 'queue',
      routing_key: 'order.#',
      arguments: { 'x-match': 'all' },
    },
  ]);
  assert.ok(
    !JSON.stringify(defs.users).includes('"password_hash"'),
    'no password hash in an export',
  );
  const one = (await a.json('GET', '/api/definitions/%2F')) as {
    queues: Record<string, unknown>[];
  };
  assert.deepEqual(one.queues, [
    { name: 'orders', durable: true, auto_delete: false, arguments: { 'x-max-length': 100 } },
  ]);

  await a.json('DELETE', '/api/queues/%2F/orders');
  await a.json('DELETE', '/api/exchanges/%2F/events');
  const empty = (await a.json('GET', '/api/definitions')) as Record<string, unknown[]>;
  assert.deepEqual([empty.queues, empty.exchanges, empty.bindings], [[], [], []]);

  // Refused whole: nothing of a bad document is applied.
  const withPolicy = {
    ...defs,
    policies: [{ vhost: '/', name: 'ha', pattern: '.*', definition: { 'ha-mode': 'all' } }],
  };
  await problem(await a.call('POST', '/api/definitions', withPolicy), 501, 'policies');
  await problem(
    await a.call('POST', '/api/definitions', {
      ...defs,
      users: [{ name: 'bob', password_hash: 'x', tags: [] }],
    }),
    400,
    "user 'bob'",
  );
  await problem(
    await a.call('POST', '/api/definitions', {
      ...defs,
      queues: [{ name: 'q', vhost: 'nowhere' }],
    }),
    400,
    "vhost 'nowhere'",
  );
  assert.deepEqual(
    ((await a.json('GET', '/api/definitions')) as Record<string, unknown[]>).queues,
    [],
  );

  assert.equal((await a.call('POST', '/api/definitions', defs)).status, 204);
  assert.deepEqual(await a.json('GET', '/api/definitions'), defs);
  // An import that fails part-way (an inequivalent queue) takes back what it created.
  await a.json('PUT', '/api/queues/%2F/clash', { durable: true });
  const clash = {
    queues: [
      { name: 'fresh', vhost: '/', durable: true },
      { name: 'clash', vhost: '/', durable: true, arguments: { 'x-max-length': 1 } },
    ],
  };
  await problem(
    await a.call('POST', '/api/definitions', clash),
    400,
    "inequivalent arg 'x-max-length'",
  );
  const conn0 = await connect(t, b.url);
  await assert.rejects((await conn0.createChannel()).checkQueue('fresh'), /404/);
  await a.json('DELETE', '/api/queues/%2F/clash');
  // A persistent message published over HTTP is stored: it is there after the restart.
  const sent = await a.json('POST', '/api/exchanges/%2F/events/publish', {
    routing_key: 'order.kept',
    payload: 'kept',
    payload_encoding: 'string',
    properties: { delivery_mode: 2 },
  });
  assert.deepEqual(sent, { routed: true });

  await b.restart();
  const after = (await b.api().json('GET', '/api/definitions')) as Record<string, unknown>;
  assert.deepEqual(
    [after.queues, after.exchanges, after.bindings],
    [defs.queues, defs.exchanges, defs.bindings],
  );
  const conn = await connect(t, b.url);
  const ch = await conn.createChannel();
  ch.publish('events', 'order.placed', Buffer.from('x'));
  await ch.assertQueue('orders', { durable: true, arguments: { 'x-max-length': 100 } });
  assert.equal((await ch.checkQueue('orders')).messageCount, 2);
  const kept = await ch.get('orders', { noAck: true });
  assert.ok(kept !== false);
  assert.equal(kept.content.toString(), 'kept');
});

void test("definitions: RabbitMQ's own export imports with guest's hash (test/http/definitions-users.test.ts has more)", async (t) => {
  const { api } = await start(t);
  const a = api();
  const salt = randomBytes(4);
  const hashOf = (password: string) =>
    Buffer.concat([
      salt,
      createHash('sha256')
        .update(Buffer.concat([salt, Buffer.from(password)]))
        .digest(),
    ]).toString('base64');
  const fromRabbit = (password: string) => ({
    rabbit_version: '3.12.1',
    rabbitmq_version: '3.12.1',
    product_name: 'RabbitMQ',
    product_version: '3.12.1',
    users: [
      {
        name: 'guest',
        password_hash: hashOf(password),
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: ['administrator'],
        limits: {},
      },
    ],
    vhosts: [{ name: '/', description: '', tags: [], metadata: { description: '', tags: [] } }],
    permissions: [{ user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' }],
    topic_permissions: [],
    parameters: [],
    global_parameters: [
      { name: 'internal_cluster_id', value: 'rabbitmq-cluster-id-x' },
      { name: 'cluster_name', value: 'rabbit@host' },
    ],
    policies: [],
    queues: [
      {
        name: 'imported',
        vhost: '/',
        durable: true,
        auto_delete: false,
        arguments: { 'x-queue-type': 'classic' },
      },
    ],
    exchanges: [],
    bindings: [],
  });
  assert.equal((await a.call('POST', '/api/definitions', fromRabbit('guest'))).status, 204);
  const defs = (await a.json('GET', '/api/definitions')) as { queues: { name: string }[] };
  assert.deepEqual(
    defs.queues.map((q) => q.name),
    ['imported'],
  );
  await problem(
    await a.call('POST', '/api/definitions', { queues: 'nope' }),
    400,
    "'queues' must be an array",
  );
  await problem(await a.call('POST', '/api/definitions', { queuez: [] }), 400, "'queuez'");
  await problem(await a.call('POST', '/api/definitions/nope', {}), 404, "vhost 'nope'");
});

void test('publish to a full reject-publish queue is refused (400, RabbitMQ text); queue actions say there is no mirroring', async (t) => {
  const { api } = await start(t);
  const a = api();
  await a.json('PUT', '/api/queues/%2F/tiny', {
    durable: true,
    arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
  });
  const send = () =>
    a.call('POST', '/api/exchanges/%2F/amq.default/publish', {
      routing_key: 'tiny',
      payload: 'x',
      payload_encoding: 'string',
      properties: { delivery_mode: 2 },
    });
  assert.deepEqual(await (await send()).json(), { routed: true });
  await problem(await send(), 400, 'Unable to publish message. Check queue limits.');
  await problem(
    await a.call('POST', '/api/queues/%2F/tiny/actions', { action: 'sync' }),
    400,
    'not mirrored',
  );
  await problem(
    await a.call('POST', '/api/queues/%2F/tiny/actions', { action: 'dance' }),
    400,
    'unknown action',
  );
});

void test('redrive over HTTP moves dead letters back to their queue', async (t) => {
  const { api, url } = await start(t);
  const a = api();
  await a.json('PUT', '/api/queues/%2F/dlq', { durable: true });
  await a.json('PUT', '/api/queues/%2F/jobs', {
    durable: true,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' },
  });
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  for (let i = 0; i < 3; i++) ch.sendToQueue('jobs', Buffer.from(`j${i}`), { persistent: true });
  await ch.waitForConfirms();
  await a.json('POST', '/api/queues/%2F/jobs/get', {
    count: 3,
    ackmode: 'reject_requeue_false',
    encoding: 'auto',
  });
  assert.equal((await ch.checkQueue('dlq')).messageCount, 3);
  await problem(
    await a.call('POST', '/api/queues/%2F/dlq/redrive', { limit: 0 }),
    400,
    "field 'limit'",
  );
  assert.deepEqual(await a.json('POST', '/api/queues/%2F/dlq/redrive', { limit: 2 }), {
    moved: 2,
    skipped: 0,
    skippedBy: {},
    movedTo: { jobs: 2 },
  });
  assert.equal((await ch.checkQueue('jobs')).messageCount, 2);
  assert.equal((await ch.checkQueue('dlq')).messageCount, 1);
  await problem(
    await a.call('POST', '/api/queues/%2F/missing/redrive', {}),
    404,
    "no queue 'missing'",
  );
});

void test('an answered HTTP publish and an answered ack_requeue_false get survive SIGKILL (answered after the fsync)', async (t) => {
  const first = await startBrokerProcess(t, { args: ['--http-port', '0'] });
  const ready = await first.ready;
  const http = ready?.ports.http;
  assert.ok(http !== undefined, first.output());
  const call = (port: number, method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: AUTH },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  assert.equal((await call(http, 'PUT', '/api/queues/%2F/safe', { durable: true })).status, 201);
  for (let i = 0; i < 5; i++) {
    const r = await call(http, 'POST', '/api/exchanges/%2F/amq.default/publish', {
      routing_key: 'safe',
      payload: `m${i}`,
      payload_encoding: 'string',
      properties: { delivery_mode: 2 },
    });
    assert.deepEqual(await r.json(), { routed: true });
  }
  const got = await call(http, 'POST', '/api/queues/%2F/safe/get', {
    count: 2,
    ackmode: 'ack_requeue_false',
    encoding: 'auto',
  });
  assert.equal(((await got.json()) as unknown[]).length, 2);
  await first.kill('SIGKILL');

  const second = await startBrokerProcess(t, { dataDir: first.dataDir });
  await second.listening;
  const conn = await connect(t, second.url);
  const ch = await conn.createChannel();
  const left: string[] = [];
  for (
    let m = await ch.get('safe', { noAck: true });
    m !== false;
    m = await ch.get('safe', { noAck: true })
  )
    left.push(m.content.toString());
  assert.deepEqual(left, ['m2', 'm3', 'm4']);
});
