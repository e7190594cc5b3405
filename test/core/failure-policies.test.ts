/**
 * Regressions the failure-policy property (failure-policies.property.test.ts) found, each as
 * the shortest sequence through the Session door.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/core/message.js';
import type { Queue } from '../../src/core/queue.js';
import { amqpPropertiesCodec } from '../../src/protocol/amqp/properties-codec.js';
import { collectingSession, openBroker, until } from '../helpers/core.js';

/** A message with real (empty) AMQP properties: dead-lettering rewrites them. */
function message(body: string): Message {
  return new Message('', '', amqpPropertiesCodec.encode({}), Buffer.from(body), false);
}

void test('x-message-ttl: a message requeued after its queue’s expiry wake-up went still expires with nobody consuming', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.declareExchange('dlx', 'fanout', {});
  session.declareQueue('dlq', {});
  session.bind('dlx', 'dlq', 'queue', '');
  // Long enough that the get below comes before it on a loaded machine.
  const q = session.declareQueue('ttl', {
    arguments: { 'x-message-ttl': 250, 'x-dead-letter-exchange': 'dlx' },
  }) as Queue;
  session.publish('', 'ttl', message('m0'));
  const d = session.get('ttl', false);
  assert.equal(d?.message.body?.toString(), 'm0');
  // The wake-up armed at publish fires while the message is unacked, finding nothing ready.
  await until(() => q.timer.armedFor === Infinity, 'the expiry wake-up to fire');
  session.close(); // requeued: back at the head, its TTL over, nobody consuming
  await until(() => session.vhost.getQueue('dlq', undefined).messageCount === 1, 'dead-lettering');
  assert.equal(q.messageCount, 0);
});

void test('expiration: a message that becomes the head after its wake-up fired still expires with nobody consuming', async (t) => {
  const { broker } = await openBroker(t);
  const { session } = collectingSession(broker);
  session.declareExchange('dlx', 'fanout', {});
  session.declareQueue('dlq', {});
  session.bind('dlx', 'dlq', 'queue', '');
  const q = session.declareQueue('exp', {
    arguments: { 'x-dead-letter-exchange': 'dlx' },
  }) as Queue;
  session.publish('', 'exp', message('m0'));
  // As the AMQP channel builds it: the expiration property and its deadline.
  const props = amqpPropertiesCodec.encode({ expiration: '20' });
  session.publish(
    '',
    'exp',
    new Message('', '', props, Buffer.from('m1'), false, 0, Date.now() + 20),
  );
  // The wake-up armed for m1 fires while m0, which never expires, is the head.
  await until(() => q.timer.armedFor === Infinity, 'the expiry wake-up to fire');
  assert.equal(session.get('exp', true)?.message.body?.toString(), 'm0');
  await until(() => session.vhost.getQueue('dlq', undefined).messageCount === 1, 'dead-lettering');
  assert.equal(q.messageCount, 0);
});
