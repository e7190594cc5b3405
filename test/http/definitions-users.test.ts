// Definitions with users, vhosts, permissions and limits: a real RabbitMQ 3.10 export
// (test/fixtures/rabbitmq-definitions-users.json, made with rabbitmqctl) imports with its
// users' passwords intact, and Baton's export imports back. Driven with fetch and amqplib.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { openChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

/**
 * The fixture's users and the passwords they were created with in RabbitMQ (rabbitmqctl
 * add_user): defs-alice may configure ^alice-.* in vhost defs-fixture, defs-bob only read.
 */
const ALICE = 'defs-alice:alice-s3cret';
const BOB = 'defs-bob:bob-pass';
const VHOST = 'defs-fixture';

interface Doc {
  users: unknown[];
  permissions: unknown[];
  parameters: unknown[];
  [key: string]: unknown;
}

function fixture(): Doc {
  const url = new URL('../../../test/fixtures/rabbitmq-definitions-users.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Doc;
}

/** RabbitMQ's hash, computed here independently of Baton's code. */
function rabbitHash(password: string, algo: 'sha256' | 'sha512' | 'md5'): string {
  const salt = randomBytes(4);
  const digest = createHash(algo)
    .update(Buffer.concat([salt, Buffer.from(password)]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

async function start(t: TestContext) {
  const b = await startBroker(t, { httpPort: 0 });
  const base = (): string => `http://127.0.0.1:${b.server.ports.get('http')}`;
  const call = (method: string, path: string, body?: unknown, auth = 'guest:guest') =>
    fetch(base() + path, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
        'content-type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const exported = async (query = ''): Promise<Doc> => {
    const r = await call('GET', `/api/definitions${query}`);
    assert.equal(r.status, 200);
    return (await r.json()) as Doc;
  };
  const amqpUrl = (creds: string, vhost = VHOST): string =>
    `amqp://${creds}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;
  return { ...b, call, exported, amqpUrl };
}

async function problem(r: Response, status: number, includes: string): Promise<void> {
  const body = (await r.json()) as { reason: string };
  assert.equal(r.status, status, JSON.stringify(body));
  assert.ok(body.reason.includes(includes), `${JSON.stringify(body.reason)} lacks ${includes}`);
}

function refusedLogin(err: Error): boolean {
  assert.match(err.message, /403|ACCESS_REFUSED/);
  return true;
}

function byName(list: unknown[]): unknown[] {
  const key = (x: unknown): string => JSON.stringify(x);
  return [...list].sort((a, b) => key(a).localeCompare(key(b)));
}

void test("RabbitMQ's export with users imports: its users log in with their passwords, their permissions apply, the vhost has its metadata and limits", async (t) => {
  const b = await start(t);
  assert.equal((await b.call('POST', '/api/definitions', fixture())).status, 204);

  const alice = await connect(t, b.amqpUrl(ALICE));
  const ch = await openChannel(alice);
  await ch.checkQueue('alice-orders');
  ch.publish('alice-events', 'order.placed', Buffer.from('o1'));
  await ch.assertQueue('alice-new', { durable: true });
  const got = await ch.get('alice-orders', { noAck: true });
  assert.ok(got !== false, 'routed through the imported binding');
  assert.equal(got.content.toString(), 'o1');
  // configure is ^alice-.*: another name is refused with RabbitMQ's text.
  await assert.rejects(
    ch.assertQueue('orders'),
    /ACCESS_REFUSED - configure access to queue 'orders' in vhost 'defs-fixture' refused for user 'defs-alice'/,
  );
  // alice has no permissions on '/'.
  await assert.rejects(amqp.connect(b.amqpUrl(ALICE, '/')), /ConnectionClose|access to vhost/);
  await assert.rejects(amqp.connect(b.amqpUrl('defs-alice:wrong')), refusedLogin);

  // bob may only read.
  const bob = await connect(t, b.amqpUrl(BOB));
  const bch = await openChannel(bob);
  assert.equal((await bch.checkQueue('alice-orders')).queue, 'alice-orders');
  await assert.rejects(bch.assertQueue('bob-q'), /ACCESS_REFUSED/);

  // The vhost's metadata and limits (max-queues 5: alice-orders, alice-new and three more).
  const v = b.server.broker.vhosts.get(VHOST);
  assert.ok(v !== undefined);
  assert.equal(v.description, 'Baton definitions fixture');
  assert.deepEqual([...v.tags], ['fixture', 'baton']);
  assert.deepEqual(v.limits, { 'max-connections': 10, 'max-queues': 5 });
  const ch2 = await openChannel(alice);
  for (const n of [1, 2, 3]) await ch2.assertQueue(`alice-${n}`);
  await assert.rejects(
    ch2.assertQueue('alice-4'),
    /cannot declare queue 'alice-4': queue limit in vhost 'defs-fixture' \(5\) is reached/,
  );
  assert.deepEqual(b.server.broker.users.get('defs-bob')?.limits, { 'max-connections': 3 });
  assert.deepEqual(b.server.broker.users.get('defs-alice')?.tags, ['management', 'policymaker']);

  // The export says so, in RabbitMQ's fields, without hashes unless asked.
  const out = await b.exported();
  assert.deepEqual(
    (out.users as Record<string, unknown>[]).find((u) => u.name === 'defs-bob'),
    {
      name: 'defs-bob',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: ['monitoring'],
      limits: { 'max-connections': 3 },
    },
  );
  assert.ok(!JSON.stringify(out).includes('"password_hash"'), 'no hash by default');
  assert.deepEqual(
    (out.vhosts as Record<string, unknown>[]).find((x) => x.name === VHOST),
    {
      name: VHOST,
      description: 'Baton definitions fixture',
      tags: ['fixture', 'baton'],
      metadata: { description: 'Baton definitions fixture', tags: ['fixture', 'baton'] },
    },
  );
  assert.deepEqual(out.parameters, [
    {
      vhost: VHOST,
      component: 'vhost-limits',
      name: 'limits',
      value: { 'max-connections': 10, 'max-queues': 5 },
    },
  ]);
  assert.deepEqual(
    byName(out.permissions.filter((p) => (p as { vhost: string }).vhost === VHOST)),
    byName([
      { user: 'defs-alice', vhost: VHOST, configure: '^alice-.*', write: '.*', read: '.*' },
      { user: 'defs-bob', vhost: VHOST, configure: '', write: '', read: '.*' },
    ]),
  );
  assert.deepEqual(out.topic_permissions, []);
  const hashed = await b.exported('?include_password_hashes=true');
  const fromRabbit = fixture().users as { name: string; password_hash: string }[];
  for (const u of hashed.users as { name: string; password_hash: string }[])
    assert.equal(u.password_hash, fromRabbit.find((x) => x.name === u.name)?.password_hash);
  await problem(await b.call('GET', '/api/definitions?include_password_hashes=yes'), 400, 'true');

  // The one-vhost export carries its limits as a parameter without a vhost; it imports back.
  const one = (await (await b.call('GET', `/api/definitions/${VHOST}`)).json()) as Doc;
  assert.deepEqual(one.parameters, [
    {
      component: 'vhost-limits',
      name: 'limits',
      value: { 'max-connections': 10, 'max-queues': 5 },
    },
  ]);
  assert.equal((await b.call('POST', `/api/definitions/${VHOST}`, one)).status, 204);

  // Importing the same file again changes nothing and still answers 204.
  assert.equal((await b.call('POST', '/api/definitions', fixture())).status, 204);
  assert.deepEqual(await b.exported('?include_password_hashes=true'), hashed);
});

void test("Baton's export with password hashes imports into a fresh broker: the same users, vhosts, permissions, limits and declarations", async (t) => {
  const a = await start(t);
  const doc = fixture();
  doc.users.push({
    name: 'defs-sha512',
    password_hash: rabbitHash('five12', 'sha512'),
    hashing_algorithm: 'rabbit_password_hashing_sha512',
    tags: 'management,monitoring',
    limits: {},
  });
  doc.permissions.push({ user: 'defs-sha512', vhost: VHOST, configure: '', write: '', read: '' });
  const first = await a.call('POST', '/api/definitions', doc);
  assert.equal(first.status, 204, await first.text());
  const full = await a.exported('?include_password_hashes=true');

  const b = await start(t);
  const imported = await b.call('POST', '/api/definitions', full);
  assert.equal(imported.status, 204, await imported.text());
  const back = await b.exported('?include_password_hashes=true');
  for (const key of ['users', 'vhosts', 'permissions', 'parameters', 'queues', 'exchanges'])
    assert.deepEqual(byName(back[key] as unknown[]), byName(full[key] as unknown[]), key);
  assert.deepEqual(back.bindings, full.bindings);
  for (const creds of [ALICE, 'defs-sha512:five12']) {
    const c = await connect(t, b.amqpUrl(creds));
    await (await c.createChannel()).checkExchange('alice-events');
  }
  assert.deepEqual(b.server.broker.users.get('defs-sha512')?.tags, ['management', 'monitoring']);

  // Without hashes an export re-creates users with no password: they cannot log in with one.
  const c = await start(t);
  assert.equal((await c.call('POST', '/api/definitions', await a.exported())).status, 204);
  assert.ok(c.server.broker.users.get('defs-alice') !== undefined);
  await assert.rejects(amqp.connect(c.amqpUrl(ALICE)), refusedLogin);
  // …and an existing user keeps its password (guest still logs in to the API after it).
  assert.equal((await c.call('POST', '/api/definitions', await a.exported())).status, 204);
});

void test('a bad hash or unknown algorithm is refused 400 naming the user, and nothing of the file is applied', async (t) => {
  const b = await start(t);
  const base = (users: unknown[]): Doc => ({
    users: [
      {
        name: 'carol',
        password_hash: rabbitHash('carol-pw', 'md5'),
        hashing_algorithm: 'rabbit_password_hashing_md5',
        tags: [],
      },
      ...users,
    ],
    vhosts: [{ name: 'v-new', metadata: { description: 'fresh', tags: [] } }],
    permissions: [{ user: 'carol', vhost: 'v-new', configure: '.*', write: '.*', read: '.*' }],
    parameters: [
      { vhost: 'v-new', component: 'vhost-limits', name: 'limits', value: { 'max-queues': 2 } },
    ],
    queues: [{ name: 'q-new', vhost: 'v-new', durable: true, auto_delete: false, arguments: {} }],
  });
  const before = await b.exported('?include_password_hashes=true');
  await problem(
    await b.call('POST', '/api/definitions', base([{ name: 'dave', password_hash: 'nothash' }])),
    400,
    "user 'dave': password_hash is not a valid rabbit_password_hashing_sha256 hash",
  );
  await problem(
    await b.call(
      'POST',
      '/api/definitions',
      base([
        { name: 'erin', password_hash: rabbitHash('x', 'sha256'), hashing_algorithm: 'bcrypt' },
      ]),
    ),
    400,
    "user 'erin': unknown hashing_algorithm 'bcrypt'",
  );
  // A sha256 hash given as sha512 is the wrong length.
  await problem(
    await b.call(
      'POST',
      '/api/definitions',
      base([
        {
          name: 'frank',
          password_hash: rabbitHash('x', 'sha256'),
          hashing_algorithm: 'rabbit_password_hashing_sha512',
        },
      ]),
    ),
    400,
    "user 'frank'",
  );
  await problem(
    await b.call('POST', '/api/definitions', {
      ...base([]),
      permissions: [{ user: 'nobody', vhost: 'v-new', configure: '', write: '', read: '' }],
    }),
    400,
    "no user 'nobody'",
  );
  await problem(
    await b.call('POST', '/api/definitions', {
      ...base([]),
      queues: [{ name: 'q', vhost: 'nowhere', durable: true }],
    }),
    400,
    "vhost 'nowhere' does not exist",
  );
  // What Baton cannot apply yet is 501, named.
  await problem(
    await b.call('POST', '/api/definitions', {
      ...base([]),
      topic_permissions: [{ user: 'carol', vhost: 'v-new', exchange: 'amq.topic', write: '.*' }],
    }),
    501,
    'topic permissions are not implemented yet',
  );
  await problem(
    await b.call('POST', '/api/definitions', {
      ...base([]),
      vhosts: [{ name: 'v-new', metadata: { default_queue_type: 'quorum' } }],
    }),
    501,
    'default_queue_type "quorum"',
  );
  await problem(
    await b.call('POST', '/api/definitions', {
      ...base([]),
      parameters: [{ vhost: 'v-new', component: 'federation-upstream', name: 'up', value: {} }],
    }),
    501,
    'federation-upstream',
  );
  // A declaration that fails while applying takes the vhost it created back too.
  await b.call('PUT', '/api/queues/%2F/clash', { durable: true });
  await problem(
    await b.call('POST', '/api/definitions', {
      ...base([]),
      queues: [
        { name: 'q-new', vhost: 'v-new', durable: true },
        { name: 'clash', vhost: '/', durable: true, arguments: { 'x-max-length': 1 } },
      ],
    }),
    400,
    "inequivalent arg 'x-max-length'",
  );
  await b.call('DELETE', '/api/queues/%2F/clash');
  assert.deepEqual(await b.exported('?include_password_hashes=true'), before);
  assert.equal(b.server.broker.vhosts.has('v-new'), false);
  assert.equal(b.server.broker.users.get('carol'), undefined);

  // The same file with good users applies whole: carol (md5) logs in to the new vhost.
  assert.equal((await b.call('POST', '/api/definitions', base([]))).status, 204);
  const c = await connect(t, b.amqpUrl('carol:carol-pw', 'v-new'));
  assert.equal((await (await c.createChannel()).checkQueue('q-new')).queue, 'q-new');
  assert.deepEqual(b.server.broker.vhosts.get('v-new')?.limits, { 'max-queues': 2 });
  assert.equal(b.server.broker.vhosts.get('v-new')?.description, 'fresh');
});

void test('a one-vhost import takes only its queues, exchanges and bindings: users, vhosts, permissions and limits in the file are ignored', async (t) => {
  const b = await start(t);
  const broker = b.server.broker;
  broker.putVhost('scoped', { limits: { 'max-queues': 10 } });
  // A policymaker with full permissions in the vhost: still no import (administrators only).
  broker.access.putUser('pm', { password: 'pm-pass', tags: ['policymaker'] });
  broker.access.setPermissions('pm', 'scoped', { configure: '.*', write: '.*', read: '.*' });
  const full = { configure: '.*', write: '.*', read: '.*' };
  const doc = {
    users: [{ name: 'intruder', password: 'intruder-pw', tags: 'administrator' }],
    vhosts: [{ name: 'v-sneaky', limits: { 'max-queues': 1 } }],
    permissions: [
      { user: 'intruder', vhost: 'scoped', ...full },
      { user: 'pm', vhost: '/', ...full },
    ],
    topic_permissions: [{ user: 'pm', vhost: 'scoped', exchange: 'amq.topic', write: '.*' }],
    limits: { 'max-queues': 1 },
    // The vhost field is ignored: everything goes into the path's vhost.
    queues: [
      { name: 'scoped-q', vhost: '/', durable: true, auto_delete: false, arguments: {} },
      { name: 'scoped-q2', durable: true, auto_delete: false, arguments: {} },
    ],
    exchanges: [{ name: 'scoped-x', type: 'fanout', durable: true }],
    bindings: [{ source: 'scoped-x', destination: 'scoped-q', destination_type: 'queue' }],
  };
  await problem(
    await b.call('POST', '/api/definitions/scoped', doc, 'pm:pm-pass'),
    403,
    'Not administrator user',
  );
  assert.equal(broker.vhosts.get('scoped')?.queues.has('scoped-q'), false);

  const r = await b.call('POST', '/api/definitions/scoped', doc);
  assert.equal(r.status, 204, await r.text());
  assert.equal(broker.users.get('intruder'), undefined);
  assert.equal(broker.vhosts.has('v-sneaky'), false);
  assert.equal(broker.access.permissions.get('intruder', 'scoped'), undefined);
  assert.equal(broker.access.permissions.get('pm', '/'), undefined);
  assert.deepEqual(broker.vhosts.get('scoped')?.limits, { 'max-queues': 10 });
  await assert.rejects(amqp.connect(b.amqpUrl('intruder:intruder-pw', 'scoped')), refusedLogin);
  const v = broker.vhosts.get('scoped')!;
  assert.deepEqual([...v.queues.keys()].filter((n) => n.startsWith('scoped-')).sort(), [
    'scoped-q',
    'scoped-q2',
  ]);
  assert.equal(broker.vhosts.get('/')?.queues.has('scoped-q'), false);
  broker.access.setPermissions('guest', 'scoped', full);
  const c = await connect(t, b.amqpUrl('guest:guest', 'scoped'));
  const ch = await c.createChannel();
  ch.publish('scoped-x', '', Buffer.from('hi'));
  await ch.close();
  const ch2 = await c.createChannel();
  const got = await ch2.get('scoped-q', { noAck: true });
  assert.ok(got !== false, 'routed through the imported binding');
  // The ignored sections are not even checked: a malformed user there refuses nothing.
  const bad = { users: [{ name: 'x', password: 12345678 }], queues: [{ name: 'scoped-q3' }] };
  assert.equal((await b.call('POST', '/api/definitions/scoped', bad)).status, 204);
  assert.equal(v.queues.has('scoped-q3'), true);
});

void test('a bad value in a definitions file is named by its field and type, never echoed', async (t) => {
  const b = await start(t);
  for (const field of ['password', 'password_hash']) {
    const r = await b.call('POST', '/api/definitions', {
      users: [{ name: 'dora', [field]: 12345678, tags: '' }],
    });
    const text = await r.text();
    assert.equal(r.status, 400, text);
    assert.ok(!text.includes('12345678'), text);
    assert.match(text, new RegExp(`user 'dora': field '${field}' must be a string, got number`));
  }
  assert.equal(b.server.broker.users.get('dora'), undefined);
});
