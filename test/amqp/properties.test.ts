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

const headers = {
  str: 'text with ünïcödé',
  emptyStr: '',
  int8: 7,
  negative: -1,
  int16: 1000,
  int32: 70000,
  int64: 2 ** 40,
  negBig: -(2 ** 33),
  float: 3.25,
  yes: true,
  no: false,
  nothing: null,
  list: [1, 'two', true, [3, 'four'], { inner: 'table' }],
  emptyList: [],
  nested: { a: { b: { c: ['deep', 1, false] } }, n: -5 },
  emptyTable: {},
  bytes: Buffer.from([0, 1, 2, 255]),
};

const properties: amqp.Options.Publish = {
  headers,
  contentType: 'application/json',
  contentEncoding: 'gzip',
  correlationId: 'corr-123',
  replyTo: 'reply.queue',
  messageId: 'msg-456',
  expiration: '600000',
  priority: 5,
  timestamp: 1_700_000_000,
  type: 'order.created',
  appId: 'baton-tests',
  userId: 'guest',
  persistent: true,
};

function checkProperties(m: amqp.Message): void {
  const p = m.properties;
  assert.deepEqual(p.headers, headers);
  assert.equal(p.contentType, 'application/json');
  assert.equal(p.contentEncoding, 'gzip');
  assert.equal(p.correlationId, 'corr-123');
  assert.equal(p.replyTo, 'reply.queue');
  assert.equal(p.messageId, 'msg-456');
  assert.equal(p.expiration, '600000');
  assert.equal(p.priority, 5);
  assert.equal(p.timestamp, 1_700_000_000);
  assert.equal(p.type, 'order.created');
  assert.equal(p.appId, 'baton-tests');
  assert.equal(p.userId, 'guest');
  assert.equal(p.deliveryMode, 2);
}

void test('every basic property, including nested header tables and arrays, is delivered unchanged (AMQP 0-9-1 §4.2.6)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('props', { durable: true });
  ch.sendToQueue('props', Buffer.from('{"ok":true}'), properties);
  ch.sendToQueue('props', Buffer.from('{"ok":true}'), properties);
  await ch.waitForConfirms();
  // Through basic.get …
  const g = await ch.get('props', { noAck: true });
  assert.ok(g !== false);
  checkProperties(g);
  // … and through basic.deliver.
  const sub = await openChannel(conn);
  const m = await new Promise<amqp.ConsumeMessage>((resolve) => {
    void sub.consume(
      'props',
      (x) => {
        if (x !== null) resolve(x);
      },
      { noAck: true },
    );
  });
  checkProperties(m);
  assert.equal(m.content.toString(), '{"ok":true}');
});

void test('properties survive a restart of the broker byte for byte (AMQP 0-9-1)', async (t) => {
  const broker = await startBroker(t);
  {
    const conn = await connect(t, broker.url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('props-durable', { durable: true });
    ch.sendToQueue('props-durable', Buffer.from('x'), properties);
    await ch.waitForConfirms();
    await conn.close();
  }
  await broker.restart();
  const ch = await openChannel(await connect(t, broker.url));
  const m = await ch.get('props-durable', { noAck: true });
  assert.ok(m !== false);
  checkProperties(m);
});

void test('a message with no properties at all comes back with none set (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertQueue('bare', { durable: false });
  ch.sendToQueue('bare', Buffer.from('bare'));
  await ch.waitForConfirms();
  const m = await ch.get('bare', { noAck: true });
  assert.ok(m !== false);
  const p = m.properties;
  for (const k of [
    'contentType',
    'contentEncoding',
    'deliveryMode',
    'priority',
    'correlationId',
    'replyTo',
    'expiration',
    'messageId',
    'timestamp',
    'type',
    'userId',
    'appId',
  ] as const)
    assert.equal(p[k], undefined, k);
});

void test('delivery fields carry the exchange and routing key the message was published with (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertQueue('fields', { durable: false });
  await ch.bindQueue('fields', 'amq.topic', 'orders.#');
  ch.publish('amq.topic', 'orders.eu.created', Buffer.from('x'));
  await ch.waitForConfirms();
  const m = await ch.get('fields', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.fields.exchange, 'amq.topic');
  assert.equal(m.fields.routingKey, 'orders.eu.created');
});

void test('a user-id property that is not the authenticated user is refused 406 PRECONDITION_FAILED (RabbitMQ validated user-id)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('uid', { durable: false });
  const err = nextChannelError(ch);
  ch.sendToQueue('uid', Buffer.from('spoofed'), { userId: 'admin' });
  const e = await within(err, 'channel.close for a spoofed user-id');
  assert.equal(e.code, 406);
  assert.match(e.message, /user_id|user-id/);
  const ch2 = await openChannel(conn);
  assert.equal(
    (await ch2.checkQueue('uid')).messageCount,
    0,
    'the spoofed message was not enqueued',
  );
});

void test('a non-numeric expiration property is refused 406 PRECONDITION_FAILED (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('exp', { durable: false });
  const err = nextChannelError(ch);
  ch.sendToQueue('exp', Buffer.from('x'), { expiration: 'soon' });
  assert.equal((await within(err, 'channel.close')).code, 406);
  const ch2 = await openChannel(conn);
  await assert.doesNotReject(ch2.checkQueue('exp'));
  await assert.rejects(ch2.checkQueue('exp-missing'), hasCode(404));
});
