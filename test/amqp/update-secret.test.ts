// connection.update-secret (RabbitMQ 3.8+, pika 1.3's BlockingConnection.update_secret): Baton has
// no expiring credentials, so it answers update-secret-ok and the connection and its open
// channels keep working, as RabbitMQ does when the new secret is accepted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MethodId, RawClient } from '../helpers/amqp-raw.js';
import { startBroker } from '../helpers/server.js';

void test('connection.update-secret is answered with update-secret-ok and an open channel keeps working (RabbitMQ)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake();
  await c.openChannel(1);
  c.sendMethod(0, MethodId.ConnectionUpdateSecret, {
    newSecret: Buffer.from('new_secret'),
    reason: 'reason',
  });
  await c.expectMethod(0, MethodId.ConnectionUpdateSecretOk);
  c.sendQueueDeclare(1, 'after-update-secret');
  const ok = await c.expectMethod(1, MethodId.QueueDeclareOk);
  assert.equal(ok.queue, 'after-update-secret');
  await c.openChannel(2);
  assert.equal(c.closed, false, c.describe());
});
