import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { eventually, expectNothingFor } from '../helpers/core.js';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

void test('mandatory publish to an unroutable key: basic.return 312 NO_ROUTE with the message, then the confirm ack (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  const events: string[] = [];
  const returned: amqp.Message[] = [];
  ch.on('return', (m: amqp.Message) => {
    events.push('return');
    returned.push(m);
  });
  const body = Buffer.from('lost letter');
  const ack = new Promise<unknown>((resolve) =>
    ch.publish(
      '',
      'no-such-queue',
      body,
      { mandatory: true, messageId: 'm-1', headers: { h: 1 }, contentType: 'text/plain' },
      (err) => {
        events.push('ack');
        resolve(err);
      },
    ),
  );
  assert.equal(await ack, null, 'an unroutable message is still confirmed with ack, not nack');
  await eventually(() => assert.equal(returned.length, 1));
  // RabbitMQ: "basic.returns must be sent before confirms" (rabbit_channel deliver_to_queues).
  assert.deepEqual(events, ['return', 'ack']);
  const r = returned[0]!;
  const fields = r.fields as unknown as {
    replyCode: number;
    replyText: string;
    exchange: string;
    routingKey: string;
  };
  assert.equal(fields.replyCode, 312);
  assert.equal(fields.replyText, 'NO_ROUTE');
  assert.equal(fields.exchange, '');
  assert.equal(fields.routingKey, 'no-such-queue');
  assert.deepEqual(r.content, body);
  assert.equal(r.properties.messageId, 'm-1');
  assert.equal(r.properties.contentType, 'text/plain');
  assert.deepEqual(r.properties.headers, { h: 1 });
});

void test('mandatory publish to a named exchange with no matching binding is returned (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertExchange('routes', 'direct', { durable: false });
  await ch.assertQueue('bound', { durable: false });
  await ch.bindQueue('bound', 'routes', 'yes');
  const returned: string[] = [];
  ch.on('return', (m: amqp.Message) => returned.push(m.fields.routingKey));
  ch.publish('routes', 'no', Buffer.from('1'), { mandatory: true });
  ch.publish('routes', 'yes', Buffer.from('2'), { mandatory: true });
  await ch.waitForConfirms();
  await eventually(() => assert.deepEqual(returned, ['no']));
  await expectNothingFor(50, () =>
    assert.deepEqual(returned, ['no'], 'the routed message is not returned'),
  );
  assert.equal((await ch.checkQueue('bound')).messageCount, 1);
});

void test('a non-mandatory unroutable publish is silently dropped and confirmed (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  let returns = 0;
  ch.on('return', () => returns++);
  const err = await new Promise((resolve) =>
    ch.publish('', 'nowhere', Buffer.from('x'), {}, (e) => resolve(e)),
  );
  assert.equal(err, null);
  await expectNothingFor(50, () => assert.equal(returns, 0));
});

void test('mandatory publish that reaches a queue through the alternate exchange is not returned (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertExchange('ae', 'fanout', { durable: false });
  await ch.assertQueue('ae-q', { durable: false });
  await ch.bindQueue('ae-q', 'ae', '');
  await ch.assertExchange('main', 'direct', { durable: false, alternateExchange: 'ae' });
  let returns = 0;
  ch.on('return', () => returns++);
  ch.publish('main', 'unbound-key', Buffer.from('x'), { mandatory: true });
  await ch.waitForConfirms();
  await expectNothingFor(50, () => assert.equal(returns, 0));
  assert.equal((await ch.checkQueue('ae-q')).messageCount, 1);
});
