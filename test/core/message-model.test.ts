import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/core/message.js';
import { Properties } from '../../src/core/properties.js';
import { amqpPropertiesCodec } from '../../src/protocol/amqp/properties-codec.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';
import { openConfirmChannel } from '../helpers/amqp-raw.js';

void test('message model: the core reads an AMQP-published message and writes a changed copy an AMQP consumer receives', async (t) => {
  const { server, url } = await startBroker(t);
  const broker = server.broker;
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('in', { durable: false });
  await ch.assertQueue('out', { durable: false });
  ch.sendToQueue('in', Buffer.from('payload'), {
    messageId: 'm-1',
    correlationId: 'c-1',
    replyTo: 'r',
    contentType: 'application/json',
    priority: 3,
    timestamp: 1700000000,
    type: 't',
    appId: 'app',
    headers: { 'x-group-id': 'g1', n: 7 },
  });
  await ch.waitForConfirms();

  // The core's own session: no AMQP code involved in reading or writing properties.
  const session = broker.connect({ user: 'core', trusted: true }).openSession({
    deliver: () => true,
    consumerCancelled: () => {},
  });
  const d = session.get('in', false)!;
  const original = d.message as Message;
  const p = broker.properties.of(original);
  assert.equal(p.messageId, 'm-1');
  assert.equal(p.correlationId, 'c-1');
  assert.equal(p.contentType, 'application/json');
  assert.equal(p.priority, 3);
  assert.equal(broker.properties.header(original, 'x-group-id'), 'g1');

  const changed = broker.properties.withProperties(original, (q) => ({
    ...q,
    headers: { ...q.headers, 'x-death': [{ queue: 'in', reason: 'rejected', count: 1 }] },
  }));
  // Shared messages are never changed in place.
  assert.equal(broker.properties.header(original, 'x-death'), undefined);
  assert.notEqual(changed.properties, original.properties);
  session.publish('', 'out', changed);
  session.ack(d.tag, false);

  const got = await new Promise<{
    headers: Record<string, unknown>;
    messageId: unknown;
    body: string;
  }>((resolve) => {
    void ch.consume('out', (m) => {
      if (m === null) return;
      resolve({
        headers: m.properties.headers ?? {},
        messageId: m.properties.messageId,
        body: m.content.toString(),
      });
    });
  });
  assert.equal(got.body, 'payload');
  assert.equal(got.messageId, 'm-1');
  assert.equal(got.headers['x-group-id'], 'g1');
  assert.deepEqual(got.headers['x-death'], [{ queue: 'in', reason: 'rejected', count: 1 }]);
  await eventually(() => assert.equal(session.queue('in').messageCount, 0));
});

void test('message model: an unchanged message keeps the publisher’s exact property bytes', () => {
  const bytes = amqpPropertiesCodec.encode({ messageId: 'x', headers: { a: 1 } });
  const m = new Message('', 'q', bytes, Buffer.from('b'), false);
  const decoded = amqpPropertiesCodec.decode(m.properties);
  assert.equal(decoded.messageId, 'x');
  assert.equal(m.properties, bytes, 'the very buffer, not a re-encoding');
  assert.deepEqual(amqpPropertiesCodec.encode(decoded), bytes);
});

void test('message model: a changed copy follows its new delivery mode and expiration', () => {
  const props = new Properties(amqpPropertiesCodec);
  const m = new Message(
    '',
    'q',
    amqpPropertiesCodec.encode({ expiration: '60000' }),
    Buffer.from('b'),
    false,
    0,
    Date.now() + 60000,
  );
  const c = props.withProperties(m, ({ expiration: _gone, ...p }) => ({ ...p, deliveryMode: 2 }));
  assert.equal(c.persistent, true);
  assert.equal(c.expiresAt, 0);
  assert.equal(props.of(c).expiration, undefined);
  assert.equal(c.body, m.body);
});
