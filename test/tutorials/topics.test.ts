// RabbitMQ tutorial five, "Topics", as a user writes it with amqplib's promise API:
// https://www.rabbitmq.com/tutorials/tutorial-five-javascript
// (emit_log_topic.js / receive_logs_topic.js).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const EXCHANGE = 'topic_logs';

/** receive_logs_topic.js <binding_key>... */
async function receiveLogsTopic(t: TestContext, url: string, keys: string[]) {
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'topic', { durable: false });
  const q = await ch.assertQueue('', { exclusive: true });
  for (const key of keys) await ch.bindQueue(q.queue, EXCHANGE, key);
  const got: string[] = [];
  await ch.consume(
    q.queue,
    (msg) => {
      if (msg) got.push(msg.fields.routingKey);
    },
    { noAck: true },
  );
  return got;
}

void test("tutorial 5 (topics): '*.critical', 'kern.*' and '#' on topic_logs", async (t) => {
  const { url } = await startBroker(t);
  const critical = await receiveLogsTopic(t, url, ['*.critical']);
  const kern = await receiveLogsTopic(t, url, ['kern.*']);
  const all = await receiveLogsTopic(t, url, ['#']);
  const both = await receiveLogsTopic(t, url, ['kern.*', '*.critical']);
  const lazy = await receiveLogsTopic(t, url, ['lazy.#', '*.*.rabbit']);

  // emit_log_topic.js
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'topic', { durable: false });
  const keys = [
    'kern.critical', // all four of the first
    'kern.info',
    'auth.critical',
    'cron.warning',
    'kern', // kern.* needs exactly one more word
    'kern.disk.full', // and not two
    'a.b.critical', // * is one word
    '.critical', // empty first word matches *
    'anonymous.info',
    'quick.orange.rabbit',
    'lazy.orange.elephant',
    'lazy',
    'lazy.brown.fox',
    'quick.brown.fox',
    '',
  ];
  for (const key of keys) ch.publish(EXCHANGE, key, Buffer.from(`A ${key} message`));
  ch.publish(EXCHANGE, 'kern.critical', Buffer.from('END'));
  ch.publish(EXCHANGE, 'lazy.end', Buffer.from('END'));
  await eventually(() => {
    for (const got of [critical, kern, both]) assert.equal(got.at(-1), 'kern.critical');
    for (const got of [all, lazy]) assert.equal(got.at(-1), 'lazy.end');
  });
  const end = (xs: string[], last = 'kern.critical') => [...xs, last];
  assert.deepEqual(critical, end(['kern.critical', 'auth.critical', '.critical']));
  assert.deepEqual(kern, end(['kern.critical', 'kern.info']));
  assert.deepEqual(
    all,
    [...keys, 'kern.critical', 'lazy.end'],
    "'#' receives everything, including the empty key",
  );
  assert.deepEqual(
    both,
    end(['kern.critical', 'kern.info', 'auth.critical', '.critical']),
    'a message matching two bindings of one queue arrives once',
  );
  assert.deepEqual(
    lazy,
    end(['quick.orange.rabbit', 'lazy.orange.elephant', 'lazy', 'lazy.brown.fox'], 'lazy.end'),
  );
});
