// Failure-handling details where client libraries depend on RabbitMQ's exact behaviour, each
// checked against RabbitMQ 3.10 (INTEROP_BROKER_URL=amqp://guest:guest@127.0.0.1:5672 runs
// this file against another broker; never from npm test).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type amqp from 'amqplib';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const external = process.env.INTEROP_BROKER_URL;

async function open(t: TestContext): Promise<{ conn: amqp.ChannelModel; q: string }> {
  const url = external ?? (await startBroker(t)).url;
  return { conn: await connect(t, url), q: `parity-${process.pid}-${Date.now()}` };
}

void test('a publish refused by a full queue (reject-publish) is nacked once and never acked as well', async (t) => {
  const { conn, q } = await open(t);
  const ch = await openConfirmChannel(conn);
  const events: string[] = [];
  ch.on('ack', (f: { deliveryTag: number }) => events.push(`ack ${f.deliveryTag}`));
  ch.on('nack', (f: { deliveryTag: number }) => events.push(`nack ${f.deliveryTag}`));
  await ch.assertQueue(q, {
    exclusive: true,
    arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
  });
  // One at a time, as pika's BlockingChannel publishes.
  for (let i = 1; i <= 3; i++) {
    ch.sendToQueue(q, Buffer.from(`${i}`));
    await until(() => events.length === i, `the confirm of publish ${i}`);
  }
  await ch.waitForConfirms().catch(() => {});
  // Then a later accepted publish after room is made is acked normally.
  assert.ok((await ch.get(q, { noAck: true })) !== false);
  ch.sendToQueue(q, Buffer.from('4'));
  await until(() => events.length === 4, 'the confirm of publish 4');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(events, ['ack 1', 'nack 2', 'nack 3', 'ack 4']);
});

void test('x-expires: a passive queue.declare renews the lease, as a redeclare does (RabbitMQ)', async (t) => {
  const { conn, q } = await open(t);
  const ch = await conn.createChannel();
  await ch.assertQueue(q, { arguments: { 'x-expires': 300 } });
  // checkQueue (passive declare) every 100 ms for 1.5 s: RabbitMQ keeps the queue.
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const probe = await conn.createChannel();
    probe.on('error', () => {});
    await probe.checkQueue(q).catch((err: Error) => {
      throw new Error(
        `queue expired after ${(i + 1) * 100} ms of passive declares: ${err.message}`,
      );
    });
    await probe.close();
  }
  await ch.deleteQueue(q);
});
