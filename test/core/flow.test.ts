import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOW_ACTIVE_MS, FLOW_HIGH } from '../../src/core/flow.js';
import { collectingSession, eventually, msg, openBroker, tick } from '../helpers/core.js';

void test('flow control: a publisher outrunning active consumers is paused, then released', async (t) => {
  const { broker } = await openBroker(t);
  const consumer = collectingSession(broker);
  const producer = collectingSession(broker);
  const flow: boolean[] = [];
  producer.session.connection.onFlow = (blocked) => flow.push(blocked);
  const q = broker.vhost().declareQueue('q', {}, undefined);
  consumer.session.consume('q', { prefetch: 10 });
  producer.session.publish('', 'q', msg('first', false));
  await tick();
  consumer.session.ack(0, true); // the consumer is active
  for (let i = 0; i < FLOW_HIGH + 100; i++) producer.session.publish('', 'q', msg(`m${i}`, false));
  assert.deepEqual(flow, [true]);
  assert.equal(producer.session.connection.throttledBy, q);
  // The consumer catches up: the publisher is let go.
  await eventually(async () => {
    consumer.session.ack(0, true);
    consumer.received.length = 0;
    await tick();
    assert.deepEqual(flow, [true, false]);
  });
  assert.equal(producer.session.connection.throttledBy, undefined);
});

void test('flow control: a stuck consumer (no acks) or no consumer never blocks publishers', async (t) => {
  const { broker } = await openBroker(t);
  const consumer = collectingSession(broker);
  const producer = collectingSession(broker);
  const flow: boolean[] = [];
  producer.session.connection.onFlow = (blocked) => flow.push(blocked);
  broker.vhost().declareQueue('idle', {}, undefined);
  broker.vhost().declareQueue('stuck', {}, undefined);
  consumer.session.consume('stuck', { prefetch: 1 });
  for (let i = 0; i < FLOW_HIGH * 2; i++) {
    producer.session.publish('', 'idle', msg(`i${i}`, false));
    producer.session.publish('', 'stuck', msg(`s${i}`, false));
  }
  await tick();
  assert.deepEqual(flow, []);
});

void test('flow control: a publish that reaches no congested queue never throttles', async (t) => {
  const { broker } = await openBroker(t);
  const consumer = collectingSession(broker);
  const busy = collectingSession(broker);
  const other = collectingSession(broker);
  const flow: boolean[] = [];
  other.session.connection.onFlow = (blocked) => flow.push(blocked);
  broker.vhost().declareQueue('q', {}, undefined);
  consumer.session.consume('q', { prefetch: 10 });
  busy.session.publish('', 'q', msg('first', false));
  await tick();
  consumer.session.ack(0, true);
  for (let i = 0; i < FLOW_HIGH + 10; i++) busy.session.publish('', 'q', msg(`m${i}`, false));
  assert.equal(busy.session.connection.throttledBy !== undefined, true);
  // Unroutable publishes from another connection must not inherit the congestion.
  other.session.publish('', 'no-such-queue', msg('x', false));
  other.session.publish('amq.fanout', '', msg('y', false));
  assert.deepEqual(flow, []);
  busy.session.connection.close();
  assert.equal(busy.session.connection.throttledBy, undefined);
});

void test('flow control: consumers whose last ack is older than the active window never throttle', async (t) => {
  const { broker } = await openBroker(t);
  const consumer = collectingSession(broker);
  const producer = collectingSession(broker);
  const flow: boolean[] = [];
  producer.session.connection.onFlow = (blocked) => flow.push(blocked);
  broker.vhost().declareQueue('q', {}, undefined);
  consumer.session.consume('q', { prefetch: 10 });
  producer.session.publish('', 'q', msg('first', false));
  await tick();
  // The ack's time is taken by the drain it schedules, not when the next publish looks.
  consumer.session.ack(0, true);
  await tick();
  await new Promise((r) => setTimeout(r, FLOW_ACTIVE_MS * 2));
  for (let i = 0; i < FLOW_HIGH + 100; i++) producer.session.publish('', 'q', msg(`m${i}`, false));
  assert.deepEqual(flow, []);
});
