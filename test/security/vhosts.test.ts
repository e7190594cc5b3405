import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { FULL } from './matrix.js';
import { openRefusal } from './open-refusal.js';
import { connect, startBroker } from '../helpers/server.js';

const USER = 'u';
const PASSWORD = 'vhost-pw';

async function brokerWithUser(t: TestContext) {
  const b = await startBroker(t);
  b.server.broker.access.putUser(USER, { password: PASSWORD, tags: [] });
  const urlOf = (vhost: string, user = USER, pass = PASSWORD): string =>
    `amqp://${user}:${pass}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;
  return { ...b, urlOf };
}

/** The text of a connection.close amqplib reports (after RabbitMQ's symbolic code name). */
function closeText(err: Error): string {
  return /with message "(.*)"$/.exec(err.message)?.[1] ?? err.message;
}

async function refused(url: string): Promise<Error> {
  try {
    const c = await amqp.connect(url);
    await c.close();
  } catch (err) {
    return err as Error;
  }
  assert.fail(`connecting to ${url} was not refused`);
}

/**
 * Resolves with the error a broker-side connection.close gave (code and text). amqplib emits
 * no 'error' for 320 CONNECTION_FORCED, only 'close' with it.
 */
function forcedClose(c: amqp.ChannelModel): Promise<Error & { code?: number }> {
  return new Promise((resolve) => c.once('close', resolve));
}

void test('an unknown vhost is refused 530 "vhost nope not found" (RabbitMQ)', async (t) => {
  const { port } = await brokerWithUser(t);
  assert.deepEqual(await openRefusal(t, port, 'nope', 'guest', 'guest'), {
    replyCode: 530,
    replyText: 'NOT_ALLOWED - vhost nope not found',
  });
});

void test('a vhost the user has no permissions on is refused 530 with RabbitMQ’s text', async (t) => {
  const { server, port, urlOf } = await brokerWithUser(t);
  server.broker.putVhost('v');
  assert.deepEqual(await openRefusal(t, port, 'v', USER, PASSWORD), {
    replyCode: 530,
    replyText: "NOT_ALLOWED - access to vhost 'v' refused for user 'u'",
  });
  await assert.rejects(amqp.connect(urlOf('v')), /ConnectionClose/);
  // Permissions given: the same login gets in.
  server.broker.access.setPermissions(USER, 'v', FULL);
  await connect(t, urlOf('v'));
});

void test('vhosts are separate namespaces: the same queue name holds different messages in each', async (t) => {
  const { server, urlOf } = await brokerWithUser(t);
  const got: Record<string, string> = {};
  for (const v of ['a', 'b']) {
    server.broker.putVhost(v);
    server.broker.access.setPermissions(USER, v, FULL);
    const ch = await (await connect(t, urlOf(v))).createConfirmChannel();
    await ch.assertQueue('same', { durable: true });
    ch.sendToQueue('same', Buffer.from(`in ${v}`), { persistent: true });
    await ch.waitForConfirms();
  }
  for (const v of ['a', 'b']) {
    const ch = await (await connect(t, urlOf(v))).createChannel();
    const m = await ch.get('same', { noAck: true });
    assert.ok(m !== false);
    got[v] = m.content.toString();
    assert.equal(await ch.get('same', { noAck: true }), false, `one message in ${v}`);
  }
  assert.deepEqual(got, { a: 'in a', b: 'in b' });
  // Nor is it in '/'.
  const root = await (await connect(t, urlOf('/', 'guest', 'guest'))).createChannel();
  root.on('error', () => {});
  await assert.rejects(root.checkQueue('same'), { code: 404 });
});

void test('deleting a vhost closes its connections (320) and its queues stay gone after a restart', async (t) => {
  const b = await brokerWithUser(t);
  b.server.broker.putVhost('gone');
  b.server.broker.access.setPermissions(USER, 'gone', FULL);
  const conn = await connect(t, b.urlOf('gone'));
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('dq', { durable: true });
  ch.sendToQueue('dq', Buffer.from('kept?'), { persistent: true });
  await ch.waitForConfirms();
  // A connection elsewhere is left alone.
  const other = await (await connect(t, b.urlOf('/', 'guest', 'guest'))).createChannel();
  const forced = forcedClose(conn);
  assert.equal(b.server.broker.deleteVhost('gone'), true);
  const err = await forced;
  assert.equal(err.code, 320, err.message);
  assert.equal(closeText(err), "CONNECTION_FORCED - vhost 'gone' is deleted");
  await other.checkExchange('amq.direct');
  assert.equal(b.server.broker.vhosts.has('gone'), false);

  const server = await b.restart();
  assert.equal(server.broker.vhosts.has('gone'), false);
  assert.equal(server.broker.access.permissions.get(USER, 'gone'), undefined);
  assert.deepEqual(await openRefusal(t, b.port, 'gone', USER, PASSWORD), {
    replyCode: 530,
    replyText: 'NOT_ALLOWED - vhost gone not found',
  });
  // Created again, it starts empty: the old queue and its message are not back.
  server.broker.putVhost('gone');
  server.broker.access.setPermissions(USER, 'gone', FULL);
  const again = await (await connect(t, b.urlOf('gone'))).createChannel();
  again.on('error', () => {});
  await assert.rejects(again.checkQueue('dq'), { code: 404 });
});

void test('permission changes apply to open channels from their next operation on', async (t) => {
  const { server, urlOf } = await brokerWithUser(t);
  server.broker.putVhost('p');
  server.broker.access.setPermissions(USER, 'p', FULL);
  const conn = await connect(t, urlOf('p'));
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  await ch.assertQueue('p1', { durable: false });
  server.broker.access.setPermissions(USER, 'p', { configure: '^p1$', write: '.*', read: '.*' });
  await ch.assertQueue('p1', { durable: false });
  await assert.rejects(ch.assertQueue('p2', { durable: false }), (e: Error & { code?: number }) => {
    assert.equal(e.code, 403);
    assert.match(e.message, /access to queue 'p2' in vhost 'p' refused for user 'u'/);
    return true;
  });
  // Cleared altogether: the open connection stays, each operation is refused.
  const ch2 = await conn.createChannel();
  ch2.on('error', () => {});
  server.broker.access.clearPermissions(USER, 'p');
  await assert.rejects(ch2.get('p1'), { code: 403 });
  server.broker.access.setPermissions(USER, 'p', FULL);
  const ch3 = await conn.createChannel();
  await ch3.assertQueue('p2', { durable: false });
  // A publisher asking the same question per message hears the new answer too.
  const pub = await conn.createConfirmChannel();
  pub.on('error', () => {});
  const closed = new Promise<Error & { code?: number }>((resolve) => pub.once('error', resolve));
  for (let i = 0; i < 3; i++) pub.sendToQueue('p1', Buffer.from(`m${i}`));
  await pub.waitForConfirms();
  server.broker.access.setPermissions(USER, 'p', { configure: '.*', write: '^p1$', read: '.*' });
  pub.sendToQueue('p1', Buffer.from('refused'));
  const err = await closed;
  assert.equal(err.code, 403);
  assert.match(err.message, /access to exchange 'amq.default' in vhost 'p' refused for user 'u'/);
  assert.equal((await ch3.checkQueue('p1')).messageCount, 3);
});

void test('deleting a user closes their connections (320); their login is refused afterwards', async (t) => {
  const { server, urlOf } = await brokerWithUser(t);
  server.broker.access.setPermissions(USER, '/', FULL);
  const mine = [await connect(t, urlOf('/')), await connect(t, urlOf('/'))];
  const guests = await (await connect(t, urlOf('/', 'guest', 'guest'))).createChannel();
  const forced = mine.map(forcedClose);
  assert.equal(server.broker.deleteUser(USER), true);
  for (const err of await Promise.all(forced)) {
    assert.equal(err.code, 320, err.message);
    assert.equal(closeText(err), "CONNECTION_FORCED - user 'u' is deleted");
  }
  await guests.checkExchange('amq.direct');
  assert.match((await refused(urlOf('/'))).message, /403|ACCESS_REFUSED/);
});

void test('a user deleted and created again starts without permissions', async (t) => {
  const { server, port } = await brokerWithUser(t);
  server.broker.access.setPermissions(USER, '/', FULL);
  server.broker.deleteUser(USER);
  server.broker.access.putUser(USER, { password: PASSWORD, tags: [] });
  assert.deepEqual(await openRefusal(t, port, '/', USER, PASSWORD), {
    replyCode: 530,
    replyText: "NOT_ALLOWED - access to vhost '/' refused for user 'u'",
  });
});

void test('the default vhost deleted stays deleted after a restart (it is created on the first boot only)', async (t) => {
  const b = await brokerWithUser(t);
  b.server.broker.putVhost('other');
  b.server.broker.access.setPermissions(USER, 'other', FULL);
  assert.equal(b.server.broker.deleteVhost('/'), true);
  const server = await b.restart();
  assert.equal(server.broker.vhosts.has('/'), false);
  assert.equal(server.broker.access.permissions.get('guest', '/'), undefined);
  assert.deepEqual(await openRefusal(t, b.port, '/', 'guest', 'guest'), {
    replyCode: 530,
    replyText: 'NOT_ALLOWED - vhost / not found',
  });
  await connect(t, b.urlOf('other'));
});
