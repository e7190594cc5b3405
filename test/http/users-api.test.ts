// Users, vhosts, permissions and limits through the management API (RabbitMQ's paths,
// bodies and status codes), driven with fetch; their effect checked with amqplib.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { hashPassword } from '../../src/core/access/password.js';
import { MethodId } from '../../src/protocol/amqp/generated/methods.js';
import { AMQP_0_9_1, RawClient } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

const basic = (user: string, pass: string): string =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const GUEST = basic('guest', 'guest');

type Json = Record<string, unknown>;

async function start(t: TestContext) {
  const b = await startBroker(t, { httpPort: 0 });
  const base = (): string => `http://127.0.0.1:${b.server.ports.get('http')}`;
  const call = (method: string, path: string, body?: unknown, auth = GUEST): Promise<Response> =>
    fetch(base() + path, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  /** A write that must answer `status`; the text of its answer. */
  const expect = async (
    status: number,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<string> => {
    const r = await call(method, path, body);
    const text = await r.text();
    assert.equal(r.status, status, `${method} ${path}: ${text}`);
    return text;
  };
  const get = async <T = Json>(path: string, auth = GUEST): Promise<T> => {
    const r = await call('GET', path, undefined, auth);
    const text = await r.text();
    assert.equal(r.status, 200, `GET ${path}: ${text}`);
    return JSON.parse(text) as T;
  };
  const amqpUrl = (user: string, pass: string, vhost: string): string =>
    `amqp://${user}:${pass}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;
  return { ...b, call, expect, get, amqpUrl };
}

/** A login amqplib must see refused (it does not show the broker's text for a refused open). */
async function refused(url: string, text: string): Promise<void> {
  await assert.rejects(amqp.connect(url), (err: Error) => err.message.includes(text));
}

/** connection.open of `vhost` refused: the broker's connection.close, as "code text". */
async function openRefused(
  t: TestContext,
  port: number,
  user: string,
  password: string,
  vhost: string,
): Promise<string> {
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.startOk(user, password);
  const tune = await c.expectMethod(0, MethodId.ConnectionTune);
  c.sendMethod(0, MethodId.ConnectionTuneOk, { ...tune, heartbeat: 0 });
  c.sendMethod(0, MethodId.ConnectionOpen, { virtualHost: vhost, capabilities: '', insist: false });
  const close = await c.expectConnectionClose();
  return `${close.replyCode} ${close.replyText}`;
}

void test('users, vhosts and permissions: create, read, log in over AMQP, restart keeps them', async (t) => {
  const b = await start(t);
  // A new user (201), then updated (204); tags as "a,b" or a list.
  await b.expect(201, 'PUT', '/api/users/alice', { password: 's3cret', tags: 'management,ops' });
  await b.expect(204, 'PUT', '/api/users/alice', {
    name: 'alice',
    password: 's3cret',
    tags: ['management', 'ops'],
  });
  const users = await b.get<Json[]>('/api/users');
  const alice = users.find((u) => u.name === 'alice');
  assert.deepEqual(alice, { name: 'alice', tags: ['management', 'ops'], limits: {} });
  const text = JSON.stringify(await b.get('/api/users/alice'));
  assert.doesNotMatch(text, /password|hash|s3cret/);

  // A ready hash (RabbitMQ's format), and a user without any password.
  await b.expect(201, 'PUT', '/api/users/bob', {
    password_hash: hashPassword('hunter2', 'rabbit_password_hashing_sha512'),
    hashing_algorithm: 'rabbit_password_hashing_sha512',
    tags: '',
  });
  await b.expect(201, 'PUT', '/api/users/nopass', { tags: [] });

  // Body validation: 400 with the reason.
  for (const [body, why] of [
    [{ password: 'x', tags: 7 }, "field 'tags'"],
    [{ password: 'x', password_hash: 'y' }, 'not both'],
    [{ password: 'x', colour: 'red' }, "unknown field 'colour'"],
    [{ password_hash: 'not-a-hash' }, 'not a valid'],
    [{ password: 'x', hashing_algorithm: 'rot13' }, 'unsupported hashing algorithm'],
    [[1, 2], 'JSON object'],
  ] as const)
    assert.match(await b.expect(400, 'PUT', '/api/users/carol', body), new RegExp(why));
  assert.equal((await b.call('GET', '/api/users/carol')).status, 404);

  // A vhost with a description and tags (201), updated (204).
  await b.expect(201, 'PUT', '/api/vhosts/shop', { description: 'the shop', tags: 'prod,eu' });
  await b.expect(204, 'PUT', '/api/vhosts/shop', { description: 'the web shop' });
  const shop = await b.get('/api/vhosts/shop');
  assert.equal(shop.description, 'the web shop');
  assert.deepEqual(shop.tags, ['prod', 'eu']);
  assert.deepEqual(
    (await b.get<Json[]>('/api/vhosts')).map((v) => v.name),
    ['/', 'shop'],
  );

  // Permissions: unknown user or vhost and bad expressions are 400; a grant is 201, then 204.
  const all = { configure: '.*', write: '.*', read: '.*' };
  assert.match(await b.expect(400, 'PUT', '/api/permissions/shop/nobody', all), /no user/);
  assert.match(await b.expect(400, 'PUT', '/api/permissions/nowhere/alice', all), /no vhost/);
  assert.match(
    await b.expect(400, 'PUT', '/api/permissions/shop/alice', { ...all, read: '(' }),
    /invalid read regular expression/,
  );
  assert.match(
    await b.expect(400, 'PUT', '/api/permissions/shop/alice', { configure: '.*' }),
    /needs field 'write'/,
  );
  await b.expect(201, 'PUT', '/api/permissions/shop/alice', all);
  await b.expect(204, 'PUT', '/api/permissions/shop/alice', { ...all, configure: '^alice\\.' });
  const perm = { user: 'alice', vhost: 'shop', configure: '^alice\\.', write: '.*', read: '.*' };
  assert.deepEqual(await b.get('/api/permissions/shop/alice'), perm);
  assert.deepEqual(await b.get('/api/users/alice/permissions'), [perm]);
  assert.deepEqual(await b.get('/api/vhosts/shop/permissions'), [perm]);
  assert.ok((await b.get<Json[]>('/api/permissions')).some((p) => p.user === 'alice'));
  assert.deepEqual(
    (await b.get<Json[]>('/api/users/without-permissions')).map((u) => u.name).sort(),
    ['bob', 'nopass'],
  );
  await b.expect(201, 'PUT', '/api/permissions/%2F/bob', all);

  // Over AMQP: alice in shop, within her configure permission; wrong password and '/' refused.
  const conn = await connect(t, b.amqpUrl('alice', 's3cret', 'shop'));
  const ch = await conn.createChannel();
  await ch.assertQueue('alice.orders');
  await refused(b.amqpUrl('alice', 'wrong', 'shop'), 'ACCESS_REFUSED');
  assert.equal(
    await openRefused(t, b.port, 'alice', 's3cret', '/'),
    "530 NOT_ALLOWED - access to vhost '/' refused for user 'alice'",
  );
  await refused(b.amqpUrl('nopass', '', '/'), 'ACCESS_REFUSED');
  await conn.close();

  // Topic permissions do not exist: empty, and a write names them.
  assert.deepEqual(await b.get('/api/topic-permissions'), []);
  assert.match(
    await b.expect(501, 'PUT', '/api/topic-permissions/shop/alice', {
      exchange: 'amq.topic',
      write: '.*',
      read: '.*',
    }),
    /topic permissions are not implemented/,
  );

  // Everything answered was durable: a restart keeps users, vhosts and permissions.
  await b.restart();
  const again = await connect(t, b.amqpUrl('alice', 's3cret', 'shop'));
  await (await again.createChannel()).checkQueue('alice.orders');
  await again.close();
  // bob's sha512 hash logs in as RabbitMQ's would.
  await (await connect(t, b.amqpUrl('bob', 'hunter2', '/'))).close();
  assert.equal((await b.get('/api/vhosts/shop')).description, 'the web shop');
  assert.deepEqual(await b.get('/api/permissions/shop/alice'), perm);

  // Clearing a grant: 204, then 404; alice can no longer open shop.
  await b.expect(204, 'DELETE', '/api/permissions/shop/alice');
  await b.expect(404, 'DELETE', '/api/permissions/shop/alice');
  assert.equal(
    await openRefused(t, b.port, 'alice', 's3cret', 'shop'),
    "530 NOT_ALLOWED - access to vhost 'shop' refused for user 'alice'",
  );
});

void test('deleting a user or a vhost closes its connections; a vhost takes its queues along', async (t) => {
  const b = await start(t);
  const all = { configure: '.*', write: '.*', read: '.*' };
  await b.expect(201, 'PUT', '/api/users/dave', { password: 'pw', tags: '' });
  await b.expect(201, 'PUT', '/api/vhosts/tmp');
  await b.expect(201, 'PUT', '/api/permissions/tmp/dave', all);
  await b.expect(201, 'PUT', '/api/permissions/tmp/guest', all);

  const dave = await connect(t, b.amqpUrl('dave', 'pw', 'tmp'));
  const closed = once(dave, 'close');
  await b.expect(204, 'DELETE', '/api/users/dave');
  await closed;
  await b.expect(404, 'DELETE', '/api/users/dave');
  await refused(b.amqpUrl('dave', 'pw', 'tmp'), 'ACCESS_REFUSED');

  const guest = await connect(t, b.amqpUrl('guest', 'guest', 'tmp'));
  const ch = await guest.createChannel();
  ch.on('error', () => {});
  await ch.assertQueue('work', { durable: true });
  ch.sendToQueue('work', Buffer.from('job'));
  const gone = once(guest, 'close');
  await b.expect(204, 'DELETE', '/api/vhosts/tmp');
  await gone;
  await b.expect(404, 'DELETE', '/api/vhosts/tmp');
  assert.equal((await b.call('GET', '/api/queues/tmp')).status, 404);
  assert.ok(!(await b.get<Json[]>('/api/permissions')).some((p) => p.vhost === 'tmp'));
  // Created again, it is empty.
  await b.expect(201, 'PUT', '/api/vhosts/tmp');
  assert.deepEqual(await b.get('/api/queues/tmp'), []);

  // Bulk delete: missing names are skipped.
  await b.expect(201, 'PUT', '/api/users/e1', { password: 'x' });
  await b.expect(201, 'PUT', '/api/users/e2', { password: 'x' });
  await b.expect(204, 'POST', '/api/users/bulk-delete', { users: ['e1', 'e2', 'e3'] });
  assert.deepEqual(
    (await b.get<Json[]>('/api/users')).map((u) => u.name),
    ['guest'],
  );
  await b.expect(400, 'POST', '/api/users/bulk-delete', { users: 'e1' });
});

void test('vhost and user limits: set, listed, enforced with RabbitMQ text, cleared', async (t) => {
  const b = await start(t);
  await b.expect(201, 'PUT', '/api/vhosts/small');
  await b.expect(201, 'PUT', '/api/permissions/small/guest', {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  await b.expect(204, 'PUT', '/api/vhost-limits/small/max-connections', { value: 1 });
  await b.expect(204, 'PUT', '/api/vhost-limits/small/max-queues', { value: '5' });
  assert.match(
    await b.expect(400, 'PUT', '/api/vhost-limits/small/max-bananas', { value: 1 }),
    /unknown vhost limit 'max-bananas'/,
  );
  await b.expect(400, 'PUT', '/api/vhost-limits/small/max-queues', { value: 'lots' });
  await b.expect(404, 'PUT', '/api/vhost-limits/nowhere/max-queues', { value: 1 });
  assert.deepEqual(await b.get('/api/vhost-limits'), [
    { vhost: 'small', value: { 'max-connections': 1, 'max-queues': 5 } },
  ]);
  assert.deepEqual(await b.get('/api/vhost-limits/%2F'), []);

  const first = await connect(t, b.amqpUrl('guest', 'guest', 'small'));
  assert.equal(
    await openRefused(t, b.port, 'guest', 'guest', 'small'),
    "530 NOT_ALLOWED - access to vhost 'small' refused for user 'guest': connection limit (1) is reached",
  );
  await first.close();
  await b.expect(204, 'DELETE', '/api/vhost-limits/small/max-connections');
  assert.deepEqual(await b.get('/api/vhost-limits/small'), [
    { vhost: 'small', value: { 'max-queues': 5 } },
  ]);
  const a = await connect(t, b.amqpUrl('guest', 'guest', 'small'));
  const c = await connect(t, b.amqpUrl('guest', 'guest', 'small'));
  await a.close();
  await c.close();

  // User limits.
  await b.expect(204, 'PUT', '/api/user-limits/guest/max-connections', { value: 1 });
  assert.deepEqual(await b.get('/api/user-limits'), [
    { user: 'guest', value: { 'max-connections': 1 } },
  ]);
  assert.deepEqual(await b.get('/api/user-limits/guest'), [
    { user: 'guest', value: { 'max-connections': 1 } },
  ]);
  const one = await connect(t, b.amqpUrl('guest', 'guest', '/'));
  assert.equal(
    await openRefused(t, b.port, 'guest', 'guest', '/'),
    "530 NOT_ALLOWED - Connection refused for user 'guest': user connection limit (1) is reached",
  );
  await one.close();
  await b.expect(204, 'DELETE', '/api/user-limits/guest/max-connections');
  assert.deepEqual(await b.get('/api/user-limits'), []);
  await b.expect(404, 'PUT', '/api/user-limits/nobody/max-connections', { value: 1 });
});

void test('only administrators manage users, vhosts, permissions and limits (403)', async (t) => {
  const b = await start(t);
  await b.expect(201, 'PUT', '/api/users/mo', { password: 'pw', tags: 'monitoring' });
  const mo = basic('mo', 'pw');
  for (const [method, path] of [
    ['GET', '/api/users'],
    ['GET', '/api/users/guest'],
    ['PUT', '/api/users/x'],
    ['DELETE', '/api/users/guest'],
    ['GET', '/api/permissions'],
    ['PUT', '/api/permissions/%2F/mo'],
    ['PUT', '/api/vhosts/mine'],
    ['DELETE', '/api/vhosts/%2F'],
    ['PUT', '/api/vhost-limits/%2F/max-queues'],
    ['GET', '/api/user-limits'],
  ] as const) {
    const r = await b.call(method, path, method === 'GET' ? undefined : { value: 1 }, mo);
    const body = (await r.json()) as Json;
    assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(body)}`);
    assert.equal(body.reason, 'Not administrator user');
  }
  assert.equal((await b.get<Json[]>('/api/users')).length, 2, 'nothing was changed');
  // A management user sees the vhosts it has permissions on; monitoring sees them all.
  await b.expect(201, 'PUT', '/api/users/ma', { password: 'pw', tags: 'management' });
  await b.expect(201, 'PUT', '/api/vhosts/theirs');
  await b.expect(201, 'PUT', '/api/permissions/theirs/ma', {
    configure: '',
    write: '',
    read: '.*',
  });
  const names = async (auth: string): Promise<unknown[]> =>
    (await b.get<Json[]>('/api/vhosts', auth)).map((v) => v.name);
  assert.deepEqual(await names(basic('ma', 'pw')), ['theirs']);
  assert.deepEqual(await names(mo), ['/', 'theirs']);
  assert.equal((await b.call('GET', '/api/vhosts/%2F', undefined, basic('ma', 'pw'))).status, 403);
  assert.ok(b.server.broker.vhosts.has('/'));
});

void test('a bad value is named by its field and type in the 400, never echoed', async (t) => {
  const b = await start(t);
  for (const field of ['password', 'password_hash']) {
    const text = await b.expect(400, 'PUT', '/api/users/x', { [field]: 12345678, tags: '' });
    assert.ok(!text.includes('12345678'), text);
    const body = JSON.parse(text) as Json;
    assert.equal(body.reason, `field '${field}' must be a string, got number`);
  }
  // Nor is the text of a body that is not JSON (V8's message would quote it).
  const r = await fetch(`http://127.0.0.1:${b.server.ports.get('http')}/api/users/x`, {
    method: 'PUT',
    headers: { authorization: GUEST, 'content-type': 'application/json' },
    body: '{"password": S3cret-unquoted, "tags": ""}',
  });
  const notJson = await r.text();
  assert.equal(r.status, 400, notJson);
  assert.match(notJson, /request body is not JSON/);
  assert.ok(!notJson.includes('S3cret'), notJson);
  // A secret-looking string in a field that wants another type is not echoed either.
  const text = await b.expect(400, 'PUT', '/api/vhosts/v', { tracing: 'S3cret-in-wrong-field' });
  assert.ok(!text.includes('S3cret'), text);
  assert.equal(b.server.broker.users.get('x'), undefined);
});
