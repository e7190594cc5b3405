import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type amqp from 'amqplib';
import type { Config } from '../../src/config.js';
import { FULL } from './matrix.js';
import { openRefusal } from './open-refusal.js';
import { connect, startBroker } from '../helpers/server.js';

const USER = 'u';
const PASSWORD = 'limits-pw';

async function brokerWithUser(t: TestContext, overrides: Partial<Config> = {}) {
  const b = await startBroker(t, overrides);
  b.server.broker.access.putUser(USER, { password: PASSWORD, tags: ['management'] });
  const urlOf = (vhost: string): string =>
    `amqp://${USER}:${PASSWORD}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;
  return { ...b, urlOf };
}

void test('vhost max-connections: the N+1-th connection is refused 530 with RabbitMQ’s text; a closed one frees a place', async (t) => {
  const { server, port, urlOf } = await brokerWithUser(t);
  server.broker.putVhost('lim', { limits: { 'max-connections': 2 } });
  server.broker.access.setPermissions(USER, 'lim', FULL);
  const first = await connect(t, urlOf('lim'));
  await connect(t, urlOf('lim'));
  assert.deepEqual(await openRefusal(t, port, 'lim', USER, PASSWORD), {
    replyCode: 530,
    replyText:
      "NOT_ALLOWED - access to vhost 'lim' refused for user 'u': connection limit (2) is reached",
  });
  // Other vhosts are not counted against it.
  server.broker.access.setPermissions(USER, '/', FULL);
  await connect(t, urlOf('/'));
  await first.close();
  await connect(t, urlOf('lim'));
});

void test('vhost max-connections 0 refuses every connection', async (t) => {
  const { server, port } = await brokerWithUser(t);
  server.broker.putVhost('closed', { limits: { 'max-connections': 0 } });
  server.broker.access.setPermissions(USER, 'closed', FULL);
  const r = await openRefusal(t, port, 'closed', USER, PASSWORD);
  assert.equal(r.replyCode, 530);
  assert.match(r.replyText, /connection limit \(0\) is reached/);
});

void test('vhost max-queues: declaring one more is refused 406 with RabbitMQ’s text; existing ones redeclare', async (t) => {
  const { server, urlOf } = await brokerWithUser(t);
  server.broker.putVhost('lim', { limits: { 'max-queues': 2 } });
  server.broker.access.setPermissions(USER, 'lim', FULL);
  const conn = await connect(t, urlOf('lim'));
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  await ch.assertQueue('q1', { durable: false });
  // Server-named queues count too.
  await ch.assertQueue('', { exclusive: true });
  await ch.assertQueue('q1', { durable: false });
  await assert.rejects(ch.assertQueue('q3', { durable: false }), (e: Error & { code?: number }) => {
    assert.equal(e.code, 406);
    assert.match(
      e.message,
      /PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in vhost 'lim' \(2\) is reached/,
    );
    return true;
  });
  // A 406 closes only the channel; deleting a queue makes room.
  const ch2 = await conn.createChannel();
  await ch2.deleteQueue('q1');
  await ch2.assertQueue('q3', { durable: false });
});

/** The error a broker-side connection.close (not 320) gave, from amqplib's 'error'. */
function connectionError(c: amqp.ChannelModel): Promise<Error & { code?: number }> {
  return new Promise((resolve) => c.once('error', resolve));
}

void test('user max-connections: counted over every vhost, refused 530 with RabbitMQ’s text', async (t) => {
  const { server, port, urlOf } = await brokerWithUser(t);
  server.broker.putVhost('a');
  for (const v of ['/', 'a']) server.broker.access.setPermissions(USER, v, FULL);
  server.broker.access.setUserLimits(USER, { 'max-connections': 2 });
  await connect(t, urlOf('/'));
  const second = await connect(t, urlOf('a'));
  for (const v of ['/', 'a'])
    assert.deepEqual(await openRefusal(t, port, v, USER, PASSWORD), {
      replyCode: 530,
      replyText:
        "NOT_ALLOWED - Connection refused for user 'u': user connection limit (2) is reached",
    });
  // Another user is not limited by it.
  await connect(t, `amqp://guest:guest@127.0.0.1:${port}`);
  await second.close();
  await connect(t, urlOf('a'));
  // A negative value clears the limit (RabbitMQ).
  server.broker.access.setUserLimits(USER, { 'max-connections': -1 });
  await connect(t, urlOf('/'));
});

void test('user max-channels: counted over the user’s connections; one more closes that connection 530', async (t) => {
  const { server, urlOf } = await brokerWithUser(t);
  server.broker.access.setPermissions(USER, '/', FULL);
  server.broker.access.setUserLimits(USER, { 'max-channels': 2 });
  const a = await connect(t, urlOf('/'));
  const b = await connect(t, urlOf('/'));
  await a.createChannel();
  await b.createChannel();
  const failed = connectionError(b);
  await assert.rejects(b.createChannel());
  const err = await failed;
  assert.equal(err.code, 530, err.message);
  assert.match(
    err.message,
    /NOT_ALLOWED - number of channels opened for user 'u' has reached the maximum allowed user limit of \(2\)/,
  );
  // The other connection is untouched, and b's channel went with b: a place is free.
  const ch = await a.createChannel();
  await ch.checkExchange('amq.direct');
});

void test('the management API’s own sessions count against no connection limit', async (t) => {
  const { server, urlOf } = await brokerWithUser(t, { httpPort: 0 });
  server.broker.putVhost('lim', { limits: { 'max-connections': 1 } });
  server.broker.access.setPermissions(USER, 'lim', FULL);
  server.broker.access.setUserLimits(USER, { 'max-connections': 1, 'max-channels': 1 });
  const conn = await connect(t, urlOf('lim'));
  await conn.createChannel();
  const res = await fetch(`http://127.0.0.1:${server.ports.get('http')!}/api/queues/lim/via-http`, {
    method: 'PUT',
    headers: {
      authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ durable: false }),
  });
  assert.equal(res.status, 201, await res.text());
  assert.ok(server.broker.vhost('lim').queues.has('via-http'));
});
