import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type amqp from 'amqplib';
import { connect, startBroker } from '../helpers/server.js';
import { GUEST, publishConfirmed, setTracing } from '../helpers/tracing.js';

const TRACE = 'amq.rabbitmq.trace';

async function setup(t: TestContext): Promise<{ ch: amqp.ConfirmChannel; http: number }> {
  const { url, server } = await startBroker(t, { httpPort: 0 });
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('firehose', { exclusive: true });
  await ch.bindQueue('firehose', TRACE, '#');
  await ch.assertQueue('work');
  return { ch, http: server.ports.get('http')! };
}

/** Every message in `queue` now, taken with no-ack. */
async function drain(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  for (
    let m = await ch.get(queue, { noAck: true });
    m !== false;
    m = await ch.get(queue, { noAck: true })
  )
    out.push(m);
  return out;
}

const publish = publishConfirmed;

const PROPS = {
  contentType: 'text/plain',
  messageId: 'm-1',
  priority: 3,
  headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', n: 7 },
};

void test('amq.rabbitmq.trace exists in every vhost: a durable internal topic exchange', async (t) => {
  const { ch } = await setup(t);
  // Passive and equivalent declares succeed; a client cannot publish to it (internal).
  await ch.checkExchange(TRACE);
  await ch.assertExchange(TRACE, 'topic', { durable: true, internal: true });
  const closed = new Promise<Error>((resolve) => ch.once('error', resolve));
  ch.publish(TRACE, 'publish.x', Buffer.from('forged'));
  assert.match((await closed).message, /403.*internal exchange 'amq\.rabbitmq\.trace'/);
});

void test('firehose: publish.<exchange> and deliver.<queue> copies with RabbitMQ headers, bodies unchanged', async (t) => {
  const { ch, http } = await setup(t);
  assert.equal((await setTracing(http, true)).status, 204);
  await ch.bindQueue('work', 'amq.direct', 'jobs');
  await publish(ch, 'amq.direct', 'jobs', 'hello', PROPS);
  await publish(ch, '', 'work', 'second');
  await publish(ch, 'amq.direct', 'nowhere', 'lost');

  const got = await ch.get('work', { noAck: false });
  assert.ok(got);
  ch.nack(got, false, true); // back, so the next delivery is a redelivery
  const again = await new Promise<amqp.ConsumeMessage>((resolve) => {
    void ch.consume('work', (m) => m && resolve(m), { consumerTag: 'c1' });
  });
  ch.ack(again);
  await ch.cancel('c1');

  const traces = await drain(ch, 'firehose');
  const keys = traces.map((m) => m.fields.routingKey);
  // Traces of the firehose's own deliveries (this drain) are never made: no loop.
  assert.deepEqual(keys.slice(0, 5), [
    'publish.amq.direct',
    'publish.',
    'publish.amq.direct',
    'deliver.work',
    'deliver.work',
  ]);
  assert.equal(
    keys.length,
    6,
    `one more deliver.work for the consumer's second message: ${keys.join(' ')}`,
  );
  assert.deepEqual(
    traces.map((m) => m.content.toString()),
    ['hello', 'second', 'lost', 'hello', 'hello', 'second'],
  );

  const [pub, pubDefault, pubLost, get, consumed] = traces as [
    amqp.GetMessage,
    amqp.GetMessage,
    amqp.GetMessage,
    amqp.GetMessage,
    amqp.GetMessage,
  ];
  const h = pub.properties.headers!;
  assert.equal(pub.fields.exchange, TRACE);
  assert.equal(h.exchange_name, 'amq.direct');
  assert.deepEqual(h.routing_keys, ['jobs']);
  assert.deepEqual(h.properties, {
    content_type: 'text/plain',
    headers: PROPS.headers,
    priority: 3,
    message_id: 'm-1',
  });
  assert.match(String(h.node), /^baton@/);
  assert.equal(h.vhost, '/');
  assert.equal(h.user, 'guest');
  assert.equal(h.channel, 1);
  assert.match(String(h.connection), /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
  assert.deepEqual(h.routed_queues, ['work']);
  assert.equal(h.redelivered, undefined);
  // Only headers: the copy has none of the original's own properties.
  assert.equal(pub.properties.messageId, undefined);
  assert.equal(pub.properties.contentType, undefined);

  assert.equal(pubDefault.properties.headers!.exchange_name, '');
  assert.deepEqual(pubDefault.properties.headers!.routed_queues, ['work']);
  // amqplib always sends a headers table (empty here).
  assert.deepEqual(pubDefault.properties.headers!.properties, { headers: {} });
  assert.deepEqual(pubLost.properties.headers!.routed_queues, []);

  const g = get.properties.headers!;
  assert.equal(g.exchange_name, 'amq.direct');
  assert.deepEqual(g.routing_keys, ['jobs']);
  assert.equal(g.redelivered, 0);
  assert.equal(g.routed_queues, undefined);
  assert.deepEqual(g.properties, h.properties);
  assert.equal(g.user, 'guest');
  assert.equal(g.vhost, '/');
  assert.equal(g.connection, h.connection);
  assert.equal(consumed.properties.headers!.redelivered, 1);
});

void test('firehose is off by default and after tracing is switched off', async (t) => {
  const { ch, http } = await setup(t);
  await publish(ch, '', 'work', 'before');
  assert.ok(await ch.get('work', { noAck: true }));
  assert.equal((await setTracing(http, true)).status, 204);
  assert.equal((await setTracing(http, false)).status, 204);
  await publish(ch, '', 'work', 'after');
  assert.ok(await ch.get('work', { noAck: true }));
  assert.deepEqual(await drain(ch, 'firehose'), []);
});

void test('firehose: CC keys are routing keys; consuming trace copies makes no more of them', async (t) => {
  const { ch, http } = await setup(t);
  await ch.assertQueue('other');
  assert.equal((await setTracing(http, true)).status, 204);
  await publish(ch, '', 'work', 'cc', { CC: ['other'] });
  const traces = await drain(ch, 'firehose');
  assert.equal(traces.length, 1);
  assert.deepEqual(traces[0]!.properties.headers!.routing_keys, ['work', 'other']);
  assert.deepEqual(traces[0]!.properties.headers!.routed_queues, ['work', 'other']);
  // Trace copies are never traced: draining them adds none.
  await publish(ch, '', 'work', 'one more');
  await drain(ch, 'firehose');
  assert.deepEqual(await drain(ch, 'firehose'), []);
});

void test("firehose: the management API's publish and get are traced too", async (t) => {
  const { ch, http } = await setup(t);
  assert.equal((await setTracing(http, true)).status, 204);
  const post = async (path: string, body: unknown): Promise<unknown> => {
    const res = await fetch(`http://127.0.0.1:${http}${path}`, {
      method: 'POST',
      headers: { authorization: GUEST, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return res.json();
  };
  const properties = {
    message_id: 'h-1',
    headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  };
  assert.deepEqual(
    await post('/api/exchanges/%2F/amq.default/publish', {
      properties,
      routing_key: 'work',
      payload: 'over http',
      payload_encoding: 'string',
    }),
    { routed: true },
  );
  const got = (await post('/api/queues/%2F/work/get', {
    count: 1,
    ackmode: 'ack_requeue_false',
    encoding: 'auto',
  })) as { payload: string; properties: { headers: Record<string, unknown> } }[];
  assert.equal(got[0]!.payload, 'over http');
  assert.equal(got[0]!.properties.headers.traceparent, properties.headers.traceparent);

  const traces = await drain(ch, 'firehose');
  assert.deepEqual(
    traces.map((m) => [m.fields.routingKey, m.content.toString()]),
    [
      ['publish.', 'over http'],
      ['deliver.work', 'over http'],
    ],
  );
  for (const m of traces) {
    const h = m.properties.headers!;
    assert.deepEqual(h.properties, properties);
    assert.equal(h.user, 'guest');
    assert.equal(h.channel, 0);
    assert.match(String(h.connection), /^http connection \d+ from /);
  }
});
