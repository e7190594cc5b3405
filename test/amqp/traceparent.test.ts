import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { controlRequest } from '../../src/protocol/control/client.js';
import { connect, startBroker } from '../helpers/server.js';
import { publishConfirmed } from '../helpers/tracing.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACESTATE = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';

function publish(
  ch: amqp.ConfirmChannel,
  ex: string,
  rk: string,
  body: string,
  headers: Record<string, unknown>,
  o: amqp.Options.Publish = {},
): Promise<void> {
  return publishConfirmed(ch, ex, rk, body, { ...o, headers });
}

/** The W3C trace context headers arrive exactly as sent: same type (longstr), same bytes. */
function assertTraceContext(m: amqp.Message, where: string): void {
  const h = m.properties.headers ?? {};
  assert.equal(h.traceparent, TRACEPARENT, `traceparent ${where}`);
  assert.equal(h.tracestate, TRACESTATE, `tracestate ${where}`);
}

async function getOne(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage> {
  const m = await ch.get(queue, { noAck: false });
  assert.ok(m, `a message in '${queue}'`);
  return m;
}

void test('traceparent and tracestate pass through untouched: consume, get, redelivery count, dead-letter, redrive', async (t) => {
  const { url, server } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('dlq');
  await ch.assertQueue('src', {
    arguments: {
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'dlq',
      // A delivery limit makes the queue add x-delivery-count to redeliveries.
      'x-delivery-limit': 5,
    },
  });
  await publish(ch, '', 'src', 'job', { traceparent: TRACEPARENT, tracestate: TRACESTATE });

  const consumed = await new Promise<amqp.ConsumeMessage>((resolve) => {
    void ch.consume('src', (m) => m && resolve(m), { consumerTag: 'c' });
  });
  assertTraceContext(consumed, 'on delivery');
  await ch.cancel('c');
  ch.nack(consumed, false, true);

  const again = await getOne(ch, 'src');
  assertTraceContext(again, 'on get, redelivered');
  assert.equal(again.fields.redelivered, true);
  assert.equal(again.properties.headers!['x-delivery-count'], 1);
  ch.nack(again, false, false);

  const dead = await getOne(ch, 'dlq');
  assertTraceContext(dead, 'after a dead-letter hop');
  const deaths = dead.properties.headers!['x-death'] as unknown as Record<string, unknown>[];
  assert.equal(deaths[0]!.queue, 'src');
  assert.equal(deaths[0]!.reason, 'rejected');
  ch.nack(dead, false, true); // back in the dead-letter queue for the redrive

  const reply = await controlRequest(server.controlSocket!, { op: 'redrive', queue: 'dlq' });
  assert.equal(reply.moved, 1);
  const back = await getOne(ch, 'src');
  assertTraceContext(back, 'after redrive');
  assert.equal((back.properties.headers!['x-death'] as unknown[]).length, 1);
  ch.ack(back);
});

void test('traceparent passes through a delayed exchange into a priority queue', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('later', 'x-delayed-message', {
    arguments: { 'x-delayed-type': 'direct' },
  });
  await ch.assertQueue('prio', { arguments: { 'x-max-priority': 5 } });
  await ch.bindQueue('prio', 'later', 'p');
  await publish(
    ch,
    'later',
    'p',
    'soon',
    { traceparent: TRACEPARENT, tracestate: TRACESTATE, 'x-delay': 20 },
    { priority: 4 },
  );
  const m = await new Promise<amqp.ConsumeMessage>((resolve) => {
    void ch.consume('prio', (x) => x && resolve(x), { noAck: true });
  });
  assertTraceContext(m, 'after a delayed exchange and a priority queue');
  assert.equal(m.properties.priority, 4);
});
