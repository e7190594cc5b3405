// RabbitMQ's sender-selected distribution, which rascal's forward/retry loop relies on (it CCs
// `<queue>.<routing key>` so the delay queue's dead letter finds its way back): the CC and BCC
// headers (arrays of strings) are extra routing keys; BCC is removed before delivery; a dead
// letter's x-death routing-keys holds the key and the CC keys, and without
// x-dead-letter-routing-key it is routed again by all of them.
//
// INTEROP_BROKER_URL=amqp://guest:guest@127.0.0.1:5672 runs it against another broker
// (RabbitMQ, to check the expectations; never from npm test).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type amqp from 'amqplib';
import { deathsOf, nextMessage, openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

const external = process.env.INTEROP_BROKER_URL;

async function channel(t: TestContext): Promise<{ ch: amqp.ConfirmChannel; p: string }> {
  const url = external ?? (await startBroker(t)).url;
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  // Unique names against an external broker; exclusive queues vanish with the connection.
  return { ch, p: external === undefined ? '' : `cc-${process.pid}-${Date.now()}-` };
}

async function drain(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

void test('CC and BCC headers route to their keys too; BCC is not delivered, CC is', async (t) => {
  const { ch, p } = await channel(t);
  const x = `${p}topic`;
  await ch.assertExchange(x, 'topic', { autoDelete: true });
  for (const k of ['main', 'cc1', 'cc2', 'bcc']) {
    await ch.assertQueue(`${p}${k}`, { exclusive: true });
    await ch.bindQueue(`${p}${k}`, x, `key.${k}`);
  }
  ch.publish(x, 'key.main', Buffer.from('m'), {
    headers: { CC: ['key.cc1', 'key.cc2'], BCC: ['key.bcc'], other: 1 },
  });
  await ch.waitForConfirms();
  for (const k of ['main', 'cc1', 'cc2', 'bcc']) {
    const got = await drain(ch, `${p}${k}`);
    assert.equal(got.length, 1, `one copy in ${k}`);
    const m = got[0]!;
    assert.equal(m.fields.routingKey, 'key.main', 'delivered with the published routing key');
    assert.deepEqual(m.properties.headers?.CC, ['key.cc1', 'key.cc2']);
    assert.equal(m.properties.headers?.BCC, undefined, 'BCC is stripped');
    assert.equal(m.properties.headers?.other, 1);
  }
  // A queue reached by both the key and a CC gets one copy.
  ch.publish(x, 'key.main', Buffer.from('once'), { headers: { CC: ['key.main'] } });
  await ch.waitForConfirms();
  assert.equal((await drain(ch, `${p}main`)).length, 1);
});

void test('dead-lettering keeps CC keys: x-death routing-keys lists them and the dead letter is routed by them', async (t) => {
  const { ch, p } = await channel(t);
  const dlx = `${p}dlx`;
  await ch.assertExchange(dlx, 'direct', { autoDelete: true });
  await ch.assertQueue(`${p}by-key`, { exclusive: true });
  await ch.assertQueue(`${p}by-cc`, { exclusive: true });
  await ch.bindQueue(`${p}by-key`, dlx, `${p}work`);
  await ch.bindQueue(`${p}by-cc`, dlx, 'extra');
  await ch.assertQueue(`${p}work`, { exclusive: true, deadLetterExchange: dlx });
  ch.publish('', `${p}work`, Buffer.from('d'), { headers: { CC: ['extra'], BCC: ['hidden'] } });
  await ch.waitForConfirms();
  ch.nack(await nextMessage(ch, `${p}work`), false, false);
  const a = await nextMessage(ch, `${p}by-key`);
  const b = await nextMessage(ch, `${p}by-cc`, 5000);
  for (const m of [a, b]) {
    assert.deepEqual(deathsOf(m)[0]!['routing-keys'], [`${p}work`, 'extra']);
    assert.deepEqual(m.properties.headers?.CC, ['extra']);
    ch.ack(m);
  }
});

void test('dead-lettering with x-dead-letter-routing-key drops the CC header', async (t) => {
  const { ch, p } = await channel(t);
  const dlx = `${p}dlx2`;
  await ch.assertExchange(dlx, 'direct', { autoDelete: true });
  await ch.assertQueue(`${p}dead`, { exclusive: true });
  await ch.assertQueue(`${p}cc-side`, { exclusive: true });
  await ch.bindQueue(`${p}dead`, dlx, 'dead');
  await ch.bindQueue(`${p}cc-side`, dlx, 'extra');
  await ch.assertQueue(`${p}work2`, {
    exclusive: true,
    deadLetterExchange: dlx,
    deadLetterRoutingKey: 'dead',
  });
  ch.publish('', `${p}work2`, Buffer.from('d'), { headers: { CC: ['extra'] } });
  await ch.waitForConfirms();
  ch.nack(await nextMessage(ch, `${p}work2`), false, false);
  const d = await nextMessage(ch, `${p}dead`);
  assert.equal(d.properties.headers?.CC, undefined);
  assert.deepEqual(deathsOf(d)[0]!['routing-keys'], [`${p}work2`, 'extra']);
  assert.equal((await ch.checkQueue(`${p}cc-side`)).messageCount, 0);
});
