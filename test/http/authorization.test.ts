// The management API's user tags and vhost scoping, as RabbitMQ's management plugin: each tag
// against representative routes, listings cut to what the user may see, and resource writes
// refused (403, RabbitMQ's text) by the same permissions AMQP applies. Driven with fetch and
// amqplib against an in-process broker.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { connect, startBroker } from '../helpers/server.js';

const PASS = 'secret-pw';
const FULL = { configure: '.*', write: '.*', read: '.*' };
const NONE = { configure: '^$', write: '^$', read: '^$' };

/** One user per tag (plus none), each with full permissions in vhost '/'. */
const TAGGED = {
  notag: [],
  mgmt: ['management'],
  policy: ['policymaker'],
  mon: ['monitoring'],
  admin: ['administrator'],
} as const;
type Who = keyof typeof TAGGED | 'guest' | 'ro';

async function start(t: TestContext) {
  const b = await startBroker(t, { httpPort: 0 });
  const access = b.server.broker.access;
  for (const [name, tags] of Object.entries(TAGGED)) {
    access.putUser(name, { password: PASS, tags: [...tags] });
    access.setPermissions(name, '/', FULL);
  }
  // A management user who may do nothing to any resource in '/'.
  access.putUser('ro', { password: PASS, tags: ['management'] });
  access.setPermissions('ro', '/', NONE);
  // A second vhost only guest has permissions in.
  b.server.broker.putVhost('other');
  access.setPermissions('guest', 'other', FULL);
  const base = `http://127.0.0.1:${b.server.ports.get('http')}`;
  const call = (who: Who, method: string, path: string, body?: unknown, pass?: string) =>
    fetch(base + path, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${who}:${pass ?? (who === 'guest' ? 'guest' : PASS)}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const json = async (who: Who, path: string): Promise<unknown> => {
    const r = await call(who, 'GET', path);
    const text = await r.text();
    assert.equal(r.status, 200, `${who} GET ${path}: ${text}`);
    return JSON.parse(text) as unknown;
  };
  const amqpUrl = (who: Who, vhost = '/') =>
    `amqp://${who}:${who === 'guest' ? 'guest' : PASS}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;
  return { ...b, call, json, amqpUrl };
}

async function status(r: Response, expected: number, reason?: string, what = ''): Promise<void> {
  const text = await r.text();
  assert.equal(r.status, expected, `${what}: ${text}`);
  if (reason !== undefined) {
    const body = JSON.parse(text) as { reason: string; status: number };
    assert.equal(body.reason, reason, what);
    assert.equal(body.status, expected);
  }
}

const names = (items: unknown): string[] => (items as { name: string }[]).map((i) => i.name).sort();
const vhostsOf = (items: unknown): string[] => [
  ...new Set((items as { vhost: string }[]).map((i) => i.vhost)),
];

void test('each tag against representative routes: 403 with "Not <tag> user" below the route\'s tag', async (t) => {
  const { call } = await start(t);
  const routes: [method: string, path: string, body: unknown, needs: string][] = [
    ['GET', '/api/whoami', undefined, 'management'],
    ['GET', '/api/overview', undefined, 'management'],
    ['GET', '/api/queues', undefined, 'management'],
    ['GET', '/api/queues/%2F', undefined, 'management'],
    ['GET', '/api/connections', undefined, 'management'],
    ['GET', '/api/health/checks/alarms', undefined, 'management'],
    ['GET', '/api/nodes', undefined, 'monitoring'],
    ['GET', '/api/baton/journal', undefined, 'monitoring'],
    ['GET', '/api/definitions', undefined, 'administrator'],
    ['GET', '/api/definitions/%2F', undefined, 'administrator'],
    ['POST', '/api/definitions', {}, 'administrator'],
    ['PUT', '/api/vhosts/%2F', {}, 'administrator'],
  ];
  // Who holds which capability (RabbitMQ: administrator ⊃ monitoring ⊃ management, policymaker ⊃ management).
  const holds: Record<string, readonly string[]> = {
    notag: [],
    mgmt: ['management'],
    policy: ['management', 'policymaker'],
    mon: ['management', 'monitoring'],
    admin: ['management', 'policymaker', 'monitoring', 'administrator'],
  };
  for (const who of Object.keys(TAGGED) as (keyof typeof TAGGED)[])
    for (const [method, path, body, needs] of routes) {
      const r = await call(who, method, path, body);
      if (holds[who]!.includes(needs)) {
        const text = await r.text();
        assert.ok(r.status < 400, `${who} ${method} ${path}: ${r.status} ${text}`);
      } else await status(r, 403, `Not ${needs} user`, `${who} ${method} ${path}`);
    }
  const who = (await (await call('policy', 'GET', '/api/whoami')).json()) as { tags: string[] };
  assert.deepEqual(who.tags, ['policymaker']);
});

void test('bad credentials are still 401, whatever the tags; the public dashboard needs none', async (t) => {
  const { call, server } = await start(t);
  await status(await call('admin', 'GET', '/api/overview', undefined, 'wrong'), 401);
  await status(await call('notag', 'GET', '/api/overview', undefined, 'wrong'), 401);
  await status(await call('nobody' as Who, 'GET', '/api/overview'), 401);
  const base = `http://127.0.0.1:${server.ports.get('http')}`;
  await status(await fetch(`${base}/api/overview`), 401);
  await status(await fetch(`${base}/`), 200);
});

void test('listings show a management user only the vhosts they have permissions in; monitoring sees all', async (t) => {
  const { call, json } = await start(t);
  for (const [vhost, q] of [
    ['%2F', 'q-root'],
    ['other', 'q-other'],
  ] as const) {
    await status(await call('guest', 'PUT', `/api/queues/${vhost}/${q}`, {}), 201);
    await status(
      await call('guest', 'PUT', `/api/exchanges/${vhost}/x-${q}`, { type: 'fanout' }),
      201,
    );
    await status(
      await call('guest', 'POST', `/api/bindings/${vhost}/e/x-${q}/q/${q}`, { routing_key: 'k' }),
      201,
    );
  }
  for (const who of ['mgmt', 'policy'] as const) {
    assert.deepEqual(names(await json(who, '/api/queues')), ['q-root']);
    assert.deepEqual(names(await json(who, '/api/vhosts')), ['/']);
    assert.deepEqual(vhostsOf(await json(who, '/api/exchanges')), ['/']);
    assert.deepEqual(vhostsOf(await json(who, '/api/bindings')), ['/']);
    const o = (await json(who, '/api/overview')) as { object_totals: { queues: number } };
    assert.equal(o.object_totals.queues, 1);
    // A path naming a vhost they have no permissions in: refused; an unknown one: 404.
    for (const path of [
      '/api/queues/other',
      '/api/queues/other/q-other',
      '/api/exchanges/other',
      '/api/bindings/other',
      '/api/vhosts/other',
      '/api/vhosts/other/connections',
      '/api/consumers/other',
    ])
      await status(
        await call(who, 'GET', path),
        403,
        `access to vhost 'other' refused for user '${who}'`,
        `${who} GET ${path}`,
      );
    await status(await call(who, 'GET', '/api/queues/nowhere'), 404);
  }
  for (const who of ['mon', 'admin'] as const) {
    assert.deepEqual(names(await json(who, '/api/queues')), ['q-other', 'q-root']);
    assert.deepEqual(names(await json(who, '/api/vhosts')), ['/', 'other']);
    assert.deepEqual(vhostsOf(await json(who, '/api/exchanges')).sort(), ['/', 'other']);
    const o = (await json(who, '/api/overview')) as { object_totals: { queues: number } };
    assert.equal(o.object_totals.queues, 2);
    // Read-only: monitoring and administrator see the vhost, but work in it needs permissions.
    assert.deepEqual(names(await json(who, '/api/queues/other')), ['q-other']);
    await json(who, '/api/queues/other/q-other');
    await status(
      await call(who, 'PUT', '/api/queues/other/q2', {}),
      403,
      `access to vhost 'other' refused for user '${who}'`,
    );
    await status(await call(who, 'DELETE', '/api/queues/other/q-other'), 403);
    await status(
      await call(who, 'GET', '/api/aliveness-test/other'),
      403,
      `access to vhost 'other' refused for user '${who}'`,
    );
  }
  await status(await call('mgmt', 'GET', '/api/aliveness-test/%2F'), 200);
  // The administrator's own routes need no permissions in the vhost they manage.
  await status(await call('admin', 'GET', '/api/definitions/other'), 200);
});

void test("connections and channels: a management user sees and closes only their own; administrator closes anyone's", async (t) => {
  const { call, json, amqpUrl, server } = await start(t);
  const guestConn = await connect(t, amqpUrl('guest'));
  const guestCh = await guestConn.createChannel();
  await guestCh.assertQueue('work');
  await guestCh.consume('work', () => {});
  const mgmtConn = await connect(t, amqpUrl('mgmt'));
  await mgmtConn.createChannel();
  await connect(t, amqpUrl('mon'));

  const users = (items: unknown): string[] =>
    (items as { user: string }[]).map((i) => i.user).sort();
  assert.deepEqual(users(await json('mgmt', '/api/connections')), ['mgmt']);
  assert.deepEqual(users(await json('mgmt', '/api/vhosts/%2F/connections')), ['mgmt']);
  assert.deepEqual(users(await json('mgmt', '/api/channels')), ['mgmt']);
  assert.deepEqual(users(await json('mgmt', '/api/vhosts/%2F/channels')), ['mgmt']);
  assert.deepEqual(users(await json('mon', '/api/connections')), ['guest', 'mgmt', 'mon']);
  assert.deepEqual(users(await json('mon', '/api/channels')), ['guest', 'mgmt']);
  const o = (await json('mgmt', '/api/overview')) as { object_totals: { connections: number } };
  assert.equal(o.object_totals.connections, 1);
  // Consumers follow the vhost: guest's consumer in '/' is listed for mgmt.
  const consumers = (await json('mgmt', '/api/consumers')) as { queue: { name: string } }[];
  assert.deepEqual(
    consumers.map((c) => c.queue.name),
    ['work'],
  );

  const all = (await json('admin', '/api/connections')) as { name: string; user: string }[];
  const nameOf = (u: string) => encodeURIComponent(all.find((c) => c.user === u)!.name);
  const refusal = `access to connection '${all.find((c) => c.user === 'guest')!.name}' refused for user 'mgmt'`;
  await status(await call('mgmt', 'GET', `/api/connections/${nameOf('guest')}`), 403, refusal);
  await status(await call('mgmt', 'GET', `/api/connections/${nameOf('guest')}/channels`), 403);
  await status(await call('mon', 'GET', `/api/connections/${nameOf('guest')}`), 200);
  // Closing: one's own as management; another's only as administrator (monitoring is read-only).
  await status(await call('mgmt', 'DELETE', `/api/connections/${nameOf('guest')}`), 403);
  await status(
    await call('mon', 'DELETE', `/api/connections/${nameOf('guest')}`),
    403,
    'Not administrator user',
  );
  const mgmtClosed = new Promise((resolve) => mgmtConn.once('close', resolve));
  await status(await call('mgmt', 'DELETE', `/api/connections/${nameOf('mgmt')}`), 204);
  await mgmtClosed;
  const guestClosed = new Promise((resolve) => guestConn.once('close', resolve));
  await status(await call('admin', 'DELETE', `/api/connections/${nameOf('guest')}`), 204);
  await guestClosed;
  assert.ok(![...server.broker.connections].some((c) => c.principal.user === 'guest'));
});

void test("resource writes over HTTP apply the user's permissions: 403 with RabbitMQ's text", async (t) => {
  const { call } = await start(t);
  await status(await call('guest', 'PUT', '/api/queues/%2F/q', {}), 201);
  const refused = (kind: string, name: string, perm = 'configure') =>
    `${perm} access to ${kind} '${name}' in vhost '/' refused for user 'ro'`;
  await status(await call('ro', 'PUT', '/api/queues/%2F/q2', {}), 403, refused('queue', 'q2'));
  await status(await call('ro', 'DELETE', '/api/queues/%2F/q'), 403, refused('queue', 'q'));
  await status(
    await call('ro', 'PUT', '/api/exchanges/%2F/x', { type: 'direct' }),
    403,
    refused('exchange', 'x'),
  );
  await status(
    await call('ro', 'POST', '/api/exchanges/%2F/amq.default/publish', {
      routing_key: 'q',
      payload: 'hello',
      payload_encoding: 'string',
      properties: {},
    }),
    403,
    refused('exchange', 'amq.default', 'write'),
  );
  await status(
    await call('ro', 'POST', '/api/queues/%2F/q/get', {
      count: 1,
      ackmode: 'ack_requeue_true',
      encoding: 'auto',
    }),
    403,
    refused('queue', 'q', 'read'),
  );
  await status(
    await call('ro', 'DELETE', '/api/queues/%2F/q/contents'),
    403,
    refused('queue', 'q', 'read'),
  );
  // Reads of the vhost need only some permissions there, whatever they allow.
  await status(await call('ro', 'GET', '/api/queues/%2F/q'), 200);
  // The same user with permissions: the same calls work.
  await status(
    await call('mgmt', 'POST', '/api/exchanges/%2F/amq.default/publish', {
      routing_key: 'q',
      payload: 'hello',
      payload_encoding: 'string',
      properties: {},
    }),
    200,
  );
  const got = (await (
    await call('mgmt', 'POST', '/api/queues/%2F/q/get', {
      count: 1,
      ackmode: 'ack_requeue_false',
      encoding: 'auto',
    })
  ).json()) as { payload: string }[];
  assert.equal(got[0]?.payload, 'hello');
});
