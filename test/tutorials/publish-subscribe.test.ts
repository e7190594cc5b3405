// RabbitMQ tutorial three, "Publish/Subscribe", as a user writes it with amqplib's promise API:
// https://www.rabbitmq.com/tutorials/tutorial-three-javascript (emit_log.js / receive_logs.js).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Channel } from 'amqplib';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const EXCHANGE = 'logs';

/** receive_logs.js: an exclusive, server-named queue bound to the fanout exchange. */
async function receiveLogs(
  t: TestContext,
  url: string,
): Promise<{ queue: string; got: string[]; ch: Channel; close: () => Promise<void> }> {
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'fanout', { durable: false });
  const q = await ch.assertQueue('', { exclusive: true });
  assert.match(q.queue, /^amq\.gen-/, 'server-named queues look like amq.gen-…');
  await ch.bindQueue(q.queue, EXCHANGE, '');
  const got: string[] = [];
  await ch.consume(
    q.queue,
    (msg) => {
      if (msg) got.push(msg.content.toString());
    },
    { noAck: true },
  );
  return { queue: q.queue, got, ch, close: () => conn.close() };
}

void test('tutorial 3 (publish/subscribe): every subscriber of the logs fanout gets every message', async (t) => {
  const { url } = await startBroker(t);
  const s1 = await receiveLogs(t, url);
  const s2 = await receiveLogs(t, url);
  assert.notEqual(s1.queue, s2.queue, 'each subscriber gets its own queue');

  // emit_log.js
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'fanout', { durable: false });
  const logs = Array.from({ length: 25 }, (_, i) => `info: Hello World! #${i}`);
  for (const l of logs) ch.publish(EXCHANGE, '', Buffer.from(l));

  await eventually(() => {
    assert.equal(s1.got.length, logs.length);
    assert.equal(s2.got.length, logs.length);
  });
  assert.deepEqual(s1.got, logs);
  assert.deepEqual(s2.got, logs);
});

void test('tutorial 3 (publish/subscribe): logs emitted with no subscriber are dropped; exclusive queues vanish with their connection', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'fanout', { durable: false });
  ch.publish(EXCHANGE, '', Buffer.from('nobody listens'));

  const s1 = await receiveLogs(t, url);
  ch.publish(EXCHANGE, '', Buffer.from('first'));
  await eventually(() => assert.deepEqual(s1.got, ['first']));

  // Another connection cannot use s1's exclusive queue, and it is deleted when s1 closes.
  const other = await connect(t, url);
  const och = await other.createChannel();
  const closed = new Promise<Error>((resolve) => och.once('error', resolve));
  await assert.rejects(och.consume(s1.queue, () => {}));
  const err = await closed;
  assert.match(err.message, /405|RESOURCE_LOCKED/);

  await s1.close();
  const probe = await other.createChannel();
  probe.on('error', () => {});
  await assert.rejects(probe.checkQueue(s1.queue), /404|NOT_FOUND/);
});
