/**
 * The management API's reads over real HTTP against a broker with real amqplib connections,
 * channels and consumers open: field names and shapes as RabbitMQ 3.x answers them.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Broker } from '../../src/core/broker.js';
import { connect, startBroker } from '../helpers/server.js';
import { eventually } from '../helpers/core.js';

const AUTH = 'Basic ' + Buffer.from('guest:guest').toString('base64');

type Json = Record<string, unknown> & { [k: string]: unknown };

export interface Api {
  port: number;
  broker: Broker;
  amqpUrl: string;
  get(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }>;
  json(path: string): Promise<Json>;
  list(path: string): Promise<Json[]>;
}

/** A broker with the management API on a free port, and a fetch helper for it. */
export async function startApi(t: TestContext): Promise<Api> {
  const b = await startBroker(t, { httpPort: 0 });
  const port = b.server.ports.get('http')!;
  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      ...init,
      headers: { authorization: AUTH, ...(init.headers as Record<string, string>) },
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  const json = async (path: string) => {
    const r = await get(path);
    assert.equal(r.status, 200, `GET ${path}: ${JSON.stringify(r.body)}`);
    return r.body as Json;
  };
  return {
    port,
    broker: b.server.broker,
    amqpUrl: b.url,
    get,
    json,
    list: async (path) => (await json(path)) as unknown as Json[],
  };
}

/** A client with a queue bound to an exchange, a consumer with a prefetch and a confirm channel. */
async function topology(t: TestContext, api: Api) {
  const conn = await connect(t, api.amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertExchange('orders.x', 'topic', { durable: true });
  await ch.assertQueue('orders', { durable: true, arguments: { 'x-max-length': 100 } });
  await ch.bindQueue('orders', 'orders.x', 'order.*');
  await ch.bindQueue('orders', 'orders.x', 'h', { tag: 'a' });
  await ch.assertQueue('idle', { durable: false });
  await ch.prefetch(7);
  await ch.consume('orders', () => {}, { consumerTag: 'c-orders' });
  const confirm = await conn.createConfirmChannel();
  confirm.publish('', 'idle', Buffer.from('hello'));
  confirm.publish('', 'idle', Buffer.from('world!'));
  await confirm.waitForConfirms();
  return { conn, ch, confirm };
}

void test('GET /api/overview has RabbitMQ’s totals, listeners and product fields', async (t) => {
  const api = await startApi(t);
  await topology(t, api);
  const o = await api.json('/api/overview');
  assert.equal(o.product_name, 'Baton');
  assert.match(String(o.product_version), /^\d+\.\d+\.\d+/);
  assert.equal(typeof o.rabbitmq_version, 'string');
  assert.equal(typeof o.management_version, 'string');
  assert.equal(o.cluster_name, 'baton');
  assert.match(String(o.node), /^baton@/);
  assert.equal(o.statistics_db_event_queue, 0);
  const totals = o.object_totals as Json;
  assert.deepEqual(totals, { connections: 1, channels: 2, exchanges: 8, queues: 2, consumers: 1 });
  const q = o.queue_totals as Json;
  assert.equal(q.messages, 2);
  assert.equal(q.messages_ready, 2);
  assert.equal(q.messages_unacknowledged, 0);
  assert.deepEqual(q.messages_details, { rate: 0 });
  const stats = o.message_stats as Json;
  for (const k of ['publish', 'confirm', 'deliver_get', 'ack', 'redeliver', 'get_empty'])
    assert.equal(typeof (stats[`${k}_details`] as Json).rate, 'number', k);
  const listeners = o.listeners as Json[];
  const amqpL = listeners.find((l) => l.protocol === 'amqp');
  assert.equal(amqpL?.port, Number(new URL(api.amqpUrl).port));
  assert.ok(listeners.some((l) => l.protocol === 'http' && l.port === api.port));
  assert.ok('queue_declared' in (o.churn_rates as Json));
});

void test('columns projects dotted paths as RabbitMQ (what rabbitmqadmin show overview asks)', async (t) => {
  const api = await startApi(t);
  const o = await api.json(
    '/api/overview?columns=rabbitmq_version,cluster_name,queue_totals.messages,object_totals.queues',
  );
  assert.deepEqual(Object.keys(o).sort(), [
    'cluster_name',
    'object_totals',
    'queue_totals',
    'rabbitmq_version',
  ]);
  assert.deepEqual(o.queue_totals, { messages: 0 });
  assert.deepEqual(o.object_totals, { queues: 0 });
});

void test('nodes, whoami, extensions and cluster-name', async (t) => {
  const api = await startApi(t);
  const nodes = await api.list('/api/nodes');
  assert.equal(nodes.length, 1);
  const n = nodes[0]!;
  assert.match(String(n.name), /^baton@/);
  assert.equal(n.type, 'disc');
  assert.equal(n.running, true);
  assert.equal(n.mem_alarm, false);
  assert.equal(n.disk_free_alarm, false);
  for (const k of [
    'mem_used',
    'mem_limit',
    'disk_free',
    'disk_free_limit',
    'fd_used',
    'uptime',
    'proc_used',
  ])
    assert.equal(typeof n[k], 'number', k);
  assert.ok((n.mem_used as number) > 0);
  const one = await api.json(`/api/nodes/${encodeURIComponent(String(n.name))}`);
  assert.equal(one.name, n.name);
  assert.equal((await api.get('/api/nodes/rabbit@nowhere')).status, 404);
  assert.deepEqual(await api.json('/api/whoami'), { name: 'guest', tags: ['administrator'] });
  assert.deepEqual(await api.get('/api/extensions'), { status: 200, body: [] });
  assert.deepEqual(await api.json('/api/cluster-name'), { name: 'baton' });
});

void test('vhosts, users and permissions', async (t) => {
  const api = await startApi(t);
  await topology(t, api);
  const vhosts = await api.list('/api/vhosts');
  assert.deepEqual(
    vhosts.map((v) => v.name),
    ['/'],
  );
  const v = await api.json('/api/vhosts/%2F');
  assert.equal(v.name, '/');
  assert.equal(v.tracing, false);
  assert.equal(v.messages, 2);
  assert.equal(v.messages_ready, 2);
  assert.deepEqual(v.messages_details, { rate: 0 });
  assert.equal((await api.get('/api/vhosts/nope')).status, 404);

  const users = await api.list('/api/users');
  assert.deepEqual(users, [{ name: 'guest', tags: ['administrator'], limits: {} }]);
  assert.ok(!('password_hash' in users[0]!));
  assert.equal((await api.json('/api/users/guest')).name, 'guest');
  assert.equal((await api.get('/api/users/nobody')).status, 404);
  const perm = { user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' };
  assert.deepEqual(await api.list('/api/permissions'), [perm]);
  assert.deepEqual(await api.list('/api/users/guest/permissions'), [perm]);
  assert.deepEqual(await api.list('/api/vhosts/%2F/permissions'), [perm]);
  assert.deepEqual(await api.json('/api/permissions/%2F/guest'), perm);
  assert.equal((await api.get('/api/permissions/nope/guest')).status, 404);
});

void test('connections, channels and consumers show the amqplib client as RabbitMQ does', async (t) => {
  const api = await startApi(t);
  await topology(t, api);
  const conns = await api.list('/api/connections');
  assert.equal(conns.length, 1, 'the API’s own sessions are not listed');
  const c = conns[0]!;
  assert.match(String(c.name), /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
  assert.equal(c.user, 'guest');
  assert.equal(c.vhost, '/');
  assert.equal(c.protocol, 'AMQP 0-9-1');
  assert.equal(c.state, 'running');
  assert.equal(c.channels, 2);
  assert.equal(c.peer_host, '127.0.0.1');
  assert.equal(c.auth_mechanism, 'PLAIN');
  assert.equal(c.ssl, false);
  assert.equal(c.frame_max, 4096 * 32);
  assert.equal(typeof c.timeout, 'number');
  assert.equal(((c.client_properties as Json).product as string).length > 0, true);
  assert.ok((c.recv_oct as number) > 0 && (c.send_oct as number) > 0);
  assert.deepEqual(c.recv_oct_details, { rate: 0 });
  const name = encodeURIComponent(String(c.name));
  assert.equal((await api.json(`/api/connections/${name}`)).name, c.name);
  assert.equal((await api.get('/api/connections/nope')).status, 404);

  const channels = await api.list('/api/channels');
  assert.deepEqual(
    channels.map((x) => x.number),
    [1, 2],
  );
  const [plain, confirm] = channels as [Json, Json];
  assert.equal(plain.name, `${String(c.name)} (1)`);
  assert.deepEqual(plain.connection_details, {
    name: c.name,
    peer_host: '127.0.0.1',
    peer_port: c.peer_port,
  });
  assert.equal(plain.prefetch_count, 7);
  assert.equal(plain.confirm, false);
  assert.equal(plain.consumer_count, 1);
  assert.equal(confirm.confirm, true);
  assert.equal(confirm.messages_unconfirmed, 0);
  assert.equal(plain.transactional, false);
  assert.equal((await api.list(`/api/connections/${name}/channels`)).length, 2);
  const one = await api.json(`/api/channels/${encodeURIComponent(String(plain.name))}`);
  assert.equal(one.number, 1);

  const consumers = await api.list('/api/consumers');
  assert.equal(consumers.length, 1);
  const k = consumers[0]!;
  assert.equal(k.consumer_tag, 'c-orders');
  assert.deepEqual(k.queue, { name: 'orders', vhost: '/' });
  assert.equal(k.ack_required, true);
  assert.equal(k.prefetch_count, 7);
  assert.equal(k.exclusive, false);
  assert.equal(k.active, true);
  assert.equal((k.channel_details as Json).name, plain.name);
  assert.equal((await api.list('/api/consumers/%2F')).length, 1);
  assert.equal((await api.get('/api/consumers/nope')).status, 404);
});

void test('DELETE /api/connections/{name} closes the client with 320 CONNECTION_FORCED and X-Reason', async (t) => {
  const api = await startApi(t);
  const conn = await connect(t, api.amqpUrl);
  const closed = new Promise<Error>((resolve) => conn.once('close', (err: Error) => resolve(err)));
  const [c] = await api.list('/api/connections');
  const r = await api.get(`/api/connections/${encodeURIComponent(String(c!.name))}`, {
    method: 'DELETE',
    headers: { 'x-reason': 'maintenance window' },
  });
  assert.equal(r.status, 204);
  const err = (await closed) as Error & { code?: number };
  assert.equal(err.code, 320);
  assert.match(err.message, /CONNECTION_FORCED - maintenance window/);
  await eventually(async () => assert.deepEqual(await api.list('/api/connections'), []));
});

void test('exchanges: default exchange named "", amq.* built-ins, one by name, bindings by end', async (t) => {
  const api = await startApi(t);
  await topology(t, api);
  const xs = await api.list('/api/exchanges/%2F?columns=name,type');
  assert.deepEqual(xs, [
    { name: '', type: 'direct' },
    { name: 'amq.direct', type: 'direct' },
    { name: 'amq.fanout', type: 'fanout' },
    { name: 'amq.headers', type: 'headers' },
    { name: 'amq.match', type: 'headers' },
    { name: 'amq.rabbitmq.trace', type: 'topic' },
    { name: 'amq.topic', type: 'topic' },
    { name: 'orders.x', type: 'topic' },
  ]);
  const x = await api.json('/api/exchanges/%2F/orders.x');
  assert.deepEqual(
    { ...x },
    {
      name: 'orders.x',
      vhost: '/',
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    },
  );
  assert.equal((await api.json('/api/exchanges/%2F/amq.default')).name, '');
  assert.equal((await api.get('/api/exchanges/%2F/nope')).status, 404);
  assert.equal((await api.get('/api/exchanges/nope')).status, 404);
  const source = await api.list('/api/exchanges/%2F/orders.x/bindings/source');
  assert.deepEqual(
    source.map((b) => [b.destination, b.routing_key]),
    [
      ['orders', 'h'],
      ['orders', 'order.*'],
    ],
  );
  assert.deepEqual(await api.list('/api/exchanges/%2F/orders.x/bindings/destination'), []);
  assert.equal((await api.list('/api/exchanges')).length, 8);
});

void test('queues: counts, type, arguments, consumers; reply-to endpoints unlisted', async (t) => {
  const api = await startApi(t);
  const { ch } = await topology(t, api);
  // A direct reply-to consumer opens an endpoint queue: never listed.
  await ch.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
  const qs = await api.list('/api/queues');
  assert.deepEqual(
    qs.map((q) => q.name),
    ['idle', 'orders'],
  );
  const idle = await api.json('/api/queues/%2F/idle');
  assert.equal(idle.messages, 2);
  assert.equal(idle.messages_ready, 2);
  assert.equal(idle.messages_unacknowledged, 0);
  assert.equal(idle.message_bytes, 'hello'.length + 'world!'.length);
  assert.deepEqual(idle.messages_details, { rate: 0 });
  assert.equal(idle.type, 'classic');
  assert.equal(idle.state, 'running');
  assert.equal(idle.durable, false);
  assert.equal(idle.consumers, 0);
  assert.equal(idle.policy, null);
  assert.deepEqual(idle.effective_policy_definition, {});
  const orders = await api.json('/api/queues/%2F/orders');
  assert.deepEqual(orders.arguments, { 'x-max-length': 100 });
  assert.equal(orders.consumers, 1);
  assert.equal(orders.durable, true);
  assert.match(String(orders.node), /^baton@/);
  const bindings = await api.list('/api/queues/%2F/orders/bindings');
  assert.deepEqual(
    bindings.map((b) => [b.source, b.routing_key]),
    [
      ['', 'orders'],
      ['orders.x', 'h'],
      ['orders.x', 'order.*'],
    ],
  );
  assert.equal((await api.get('/api/queues/%2F/nope')).status, 404);
  assert.equal((await api.get('/api/queues/nope')).status, 404);
  const quorum = await ch.assertQueue('q.quorum', {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  assert.equal((await api.json(`/api/queues/%2F/${quorum.queue}`)).type, 'quorum');
  const mine = await ch.assertQueue('', { exclusive: true });
  const excl = await api.json(`/api/queues/%2F/${encodeURIComponent(mine.queue)}`);
  assert.equal(excl.exclusive, true);
  const [conn] = await api.list('/api/connections');
  assert.deepEqual(excl.owner_pid_details, {
    name: conn!.name,
    peer_host: '127.0.0.1',
    peer_port: conn!.peer_port,
  });
});

void test('bindings: implicit default-exchange ones, properties_key as RabbitMQ', async (t) => {
  const api = await startApi(t);
  await topology(t, api);
  const all = await api.list('/api/bindings/%2F');
  const key = (b: Json) => [b.source, b.destination, b.destination_type, b.routing_key];
  assert.deepEqual(all.map(key), [
    ['', 'idle', 'queue', 'idle'],
    ['', 'orders', 'queue', 'orders'],
    ['orders.x', 'orders', 'queue', 'h'],
    ['orders.x', 'orders', 'queue', 'order.*'],
  ]);
  const withArgs = all[2]!;
  assert.deepEqual(withArgs.arguments, { tag: 'a' });
  assert.match(String(withArgs.properties_key), /^h~[A-Za-z0-9_%-]+$/);
  assert.equal(all[3]!.properties_key, 'order.*');
  assert.equal(all[0]!.properties_key, 'idle');
  const between = await api.list('/api/bindings/%2F/e/orders.x/q/orders');
  assert.equal(between.length, 2);
  assert.equal((await api.list('/api/bindings/%2F/e/amq.default/q/idle')).length, 1);
  const one = await api.json(
    `/api/bindings/%2F/e/orders.x/q/orders/${encodeURIComponent(String(withArgs.properties_key))}`,
  );
  assert.deepEqual(one.arguments, { tag: 'a' });
  assert.equal(
    (await api.json('/api/bindings/%2F/e/orders.x/q/orders/order.*')).routing_key,
    'order.*',
  );
  assert.equal((await api.get('/api/bindings/%2F/e/orders.x/q/orders/other')).status, 404);
  assert.equal((await api.get('/api/bindings/%2F/e/orders.x/q/nope')).status, 404);
  assert.equal((await api.get('/api/bindings/nope')).status, 404);
  assert.equal((await api.list('/api/bindings')).length, 4);
});

void test('sort, sort_reverse, page, page_size, name, use_regex and disable_stats', async (t) => {
  const api = await startApi(t);
  const conn = await connect(t, api.amqpUrl);
  const ch = await conn.createChannel();
  for (const n of ['b1', 'a2', 'c3', 'a4']) await ch.assertQueue(n, { durable: false });
  ch.sendToQueue('c3', Buffer.from('x'));
  ch.sendToQueue('c3', Buffer.from('y'));
  ch.sendToQueue('b1', Buffer.from('z'));
  await eventually(async () => assert.equal((await api.json('/api/queues/%2F/c3')).messages, 2));
  const names = (l: Json[]) => l.map((q) => q.name);
  assert.deepEqual(names(await api.list('/api/queues?sort=messages&sort_reverse=true')), [
    'c3',
    'b1',
    'a2',
    'a4',
  ]);
  assert.deepEqual(names(await api.list('/api/queues?sort=name&sort_reverse=true')), [
    'c3',
    'b1',
    'a4',
    'a2',
  ]);
  const page = await api.json('/api/queues?page=2&page_size=3&columns=name');
  assert.deepEqual(page, {
    filtered_count: 4,
    item_count: 1,
    items: [{ name: 'c3' }],
    page: 2,
    page_count: 2,
    page_size: 3,
    total_count: 4,
  });
  const filtered = await api.json('/api/queues?page=1&name=a&columns=name');
  assert.deepEqual(filtered.items, [{ name: 'a2' }, { name: 'a4' }]);
  assert.equal(filtered.filtered_count, 2);
  const paged = await api.json('/api/queues?pagination=true&page_size=2&columns=name');
  assert.deepEqual(paged.items, [{ name: 'a2' }, { name: 'a4' }]);
  assert.equal(paged.page, 1);
  assert.equal(paged.page_count, 2);
  const regex = await api.json('/api/queues?page=1&name=%5E%5Bbc%5D&use_regex=true&columns=name');
  assert.deepEqual(regex.items, [{ name: 'b1' }, { name: 'c3' }]);
  assert.equal((await api.get('/api/queues?page=0')).status, 400);
  assert.equal((await api.get('/api/queues?page=1&page_size=501')).status, 400);
  assert.equal((await api.get('/api/queues?page=9')).status, 400);
  assert.equal((await api.get('/api/queues?page=1&name=(&use_regex=true')).status, 400);
  const bare = await api.json(
    '/api/queues/%2F/c3?disable_stats=true&lengths_age=60&msg_rates_age=60',
  );
  assert.ok(!('messages_details' in bare) && !('message_stats' in bare));
  assert.equal(bare.messages, 2);
});

void test('health checks and the aliveness test', async (t) => {
  const api = await startApi(t);
  const ok = { status: 200, body: { status: 'ok' } };
  assert.deepEqual(await api.get('/api/health/checks/alarms'), ok);
  assert.deepEqual(await api.get('/api/health/checks/local-alarms'), ok);
  assert.deepEqual(await api.get('/api/health/checks/virtual-hosts'), ok);
  assert.deepEqual(await api.get('/api/health/checks/node-is-quorum-critical'), ok);
  const amqpPort = Number(new URL(api.amqpUrl).port);
  assert.deepEqual(await api.get(`/api/health/checks/port-listener/${amqpPort}`), {
    status: 200,
    body: { status: 'ok', port: amqpPort },
  });
  const missing = await api.get('/api/health/checks/port-listener/1');
  assert.equal(missing.status, 503);
  assert.equal((missing.body as Json).status, 'failed');
  assert.match(String((missing.body as Json).reason), /No active listener on port 1/);
  assert.equal((await api.get('/api/health/checks/port-listener/x')).status, 400);
  assert.equal((await api.get('/api/health/checks/protocol-listener/amqp091')).status, 200);
  assert.equal((await api.get('/api/health/checks/protocol-listener/http')).status, 200);
  const mqtt = await api.get('/api/health/checks/protocol-listener/mqtt');
  assert.equal(mqtt.status, 503);
  assert.equal((mqtt.body as Json).status, 'failed');

  assert.deepEqual(await api.get('/api/aliveness-test/%2F'), ok);
  assert.equal((await api.get('/api/aliveness-test/nope')).status, 404);
  const q = await api.json('/api/queues/%2F/aliveness-test');
  assert.equal(q.messages, 0);
  assert.deepEqual(await api.list('/api/connections'), [], 'its session is gone');
});

void test('reads need credentials: 401 without, problem JSON for unknown objects', async (t) => {
  const api = await startApi(t);
  const res = await fetch(`http://127.0.0.1:${api.port}/api/queues`);
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Basic/);
  const bad = await fetch(`http://127.0.0.1:${api.port}/api/overview`, {
    headers: { authorization: 'Basic ' + Buffer.from('guest:nope').toString('base64') },
  });
  assert.equal(bad.status, 401);
  const nf = await fetch(`http://127.0.0.1:${api.port}/api/queues/%2F/nope`, {
    headers: { authorization: AUTH },
  });
  assert.equal(nf.status, 404);
  assert.match(nf.headers.get('content-type') ?? '', /application\/problem\+json/);
  const body = (await nf.json()) as Json;
  assert.equal(body.error, 'Object Not Found');
  assert.match(String(body.reason), /queue 'nope' in vhost '\/' not found/);
});

void test('a publisher paused by flow control shows as state flow, then running again', async (t) => {
  const api = await startApi(t);
  const conn = await connect(t, api.amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertQueue('busy');
  const queue = api.broker.vhost().getQueue('busy', undefined);
  // The amqplib connection (the only one with details: the API's own are not listed) does not
  // consume from 'busy', so flow control may pause it, as a backlog there would.
  const core = [...api.broker.connections].find((c) => c.details !== undefined)!;
  core.throttle(queue);
  await eventually(async () =>
    assert.equal((await api.list('/api/connections'))[0]!.state, 'flow'),
  );
  queue.flow.open();
  await eventually(async () =>
    assert.equal((await api.list('/api/connections'))[0]!.state, 'running'),
  );
  ch.sendToQueue('busy', Buffer.from('x'));
  await eventually(async () => assert.equal((await ch.checkQueue('busy')).messageCount, 1));
});

void test('a resource alarm fails the alarm checks, shows on the node and blocks a publishing connection', async (t) => {
  const api = await startApi(t);
  const conn = await connect(t, api.amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertQueue('held');
  api.broker.alarms.set('memory', true);
  t.after(() => api.broker.alarms.set('memory', false));
  const r = await api.get('/api/health/checks/alarms');
  assert.equal(r.status, 503);
  const body = r.body as Json;
  assert.equal(body.status, 'failed');
  assert.match(String(body.reason), /alarms in effect/);
  assert.deepEqual(
    (body.alarms as Json[]).map((a) => a.resource),
    ['memory'],
  );
  assert.equal((await api.get('/api/health/checks/local-alarms')).status, 503);
  assert.equal((await api.list('/api/nodes'))[0]!.mem_alarm, true);
  ch.sendToQueue('held', Buffer.from('x'));
  await eventually(async () =>
    assert.equal((await api.list('/api/connections'))[0]!.state, 'blocked'),
  );
  api.broker.alarms.set('memory', false);
  await eventually(async () =>
    assert.equal((await api.list('/api/connections'))[0]!.state, 'running'),
  );
  assert.deepEqual(await api.get('/api/health/checks/alarms'), {
    status: 200,
    body: { status: 'ok' },
  });
});
