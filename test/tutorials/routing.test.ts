// RabbitMQ tutorial four, "Routing", as a user writes it with amqplib's promise API:
// https://www.rabbitmq.com/tutorials/tutorial-four-javascript
// (emit_log_direct.js / receive_logs_direct.js).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const EXCHANGE = 'direct_logs';

/** receive_logs_direct.js <severity>...: one exclusive queue bound once per severity. */
async function receiveLogsDirect(t: TestContext, url: string, severities: string[]) {
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'direct', { durable: false });
  const q = await ch.assertQueue('', { exclusive: true });
  for (const severity of severities) await ch.bindQueue(q.queue, EXCHANGE, severity);
  const got: string[] = [];
  await ch.consume(
    q.queue,
    (msg) => {
      if (msg) got.push(`${msg.fields.routingKey}:${msg.content.toString()}`);
    },
    { noAck: true },
  );
  return got;
}

void test('tutorial 4 (routing): direct_logs delivers each severity only to the queues bound to it', async (t) => {
  const { url } = await startBroker(t);
  const errorsToDisk = await receiveLogsDirect(t, url, ['error']);
  const toScreen = await receiveLogsDirect(t, url, ['info', 'warning', 'error']);
  const debugOnly = await receiveLogsDirect(t, url, ['debug']);

  // emit_log_direct.js
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'direct', { durable: false });
  const sent: Array<[string, string]> = [];
  const severities = ['info', 'warning', 'error', 'critical'];
  for (let i = 0; i < 40; i++) {
    const severity = severities[i % severities.length]!;
    const msg = `Hello World #${i}`;
    sent.push([severity, msg]);
    ch.publish(EXCHANGE, severity, Buffer.from(msg));
  }
  // A last 'error' reaches both error-bound queues and marks the end for them; 'debug' for the third.
  ch.publish(EXCHANGE, 'error', Buffer.from('END'));
  ch.publish(EXCHANGE, 'debug', Buffer.from('END'));
  await eventually(() => {
    assert.equal(errorsToDisk.at(-1), 'error:END');
    assert.equal(toScreen.at(-1), 'error:END');
    assert.equal(debugOnly.at(-1), 'debug:END');
  });

  const expect = (keys: string[]) =>
    sent.filter(([s]) => keys.includes(s)).map(([s, m]) => `${s}:${m}`);
  assert.deepEqual(errorsToDisk, [...expect(['error']), 'error:END']);
  assert.deepEqual(toScreen, [...expect(['info', 'warning', 'error']), 'error:END']);
  assert.deepEqual(debugOnly, ['debug:END'], "'critical' has no binding and is dropped");
});

void test('tutorial 4 (routing): unbinding a severity stops its delivery (queue.unbind)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'direct', { durable: false });
  const q = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(q.queue, EXCHANGE, 'info');
  await ch.bindQueue(q.queue, EXCHANGE, 'error');
  ch.publish(EXCHANGE, 'info', Buffer.from('a'));
  await ch.unbindQueue(q.queue, EXCHANGE, 'info');
  ch.publish(EXCHANGE, 'info', Buffer.from('b'));
  ch.publish(EXCHANGE, 'error', Buffer.from('c'));
  await eventually(async () => assert.equal((await ch.checkQueue(q.queue)).messageCount, 2));
  const bodies: string[] = [];
  for (;;) {
    const m = await ch.get(q.queue, { noAck: true });
    if (m === false) break;
    bodies.push(m.content.toString());
  }
  assert.deepEqual(bodies, ['a', 'c']);
});
