import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { deathsOf, withDlq, nextMessage, openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

/** Publish each body and say which the broker confirmed (true) or nacked (false). */
async function publishAll(
  ch: amqp.ConfirmChannel,
  queue: string,
  bodies: string[],
): Promise<boolean[]> {
  return Promise.all(
    bodies.map(
      (b) =>
        new Promise<boolean>((resolve) =>
          ch.sendToQueue(queue, Buffer.from(b), { persistent: true }, (err) =>
            resolve(err == null),
          ),
        ),
    ),
  );
}

async function drain(ch: amqp.Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

void test('x-max-length drop-head: the oldest make room and are dead-lettered (reason maxlen)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('capped', {
    durable: true,
    arguments: { 'x-max-length': 3, 'x-dead-letter-exchange': 'dlx' },
  });
  const acks = await publishAll(ch, 'capped', ['1', '2', '3', '4', '5']);
  assert.deepEqual(acks, [true, true, true, true, true], 'drop-head confirms every publish');
  assert.equal((await ch.checkQueue('capped')).messageCount, 3);
  const d1 = await nextMessage(ch, 'dlq');
  const d2 = await nextMessage(ch, 'dlq');
  assert.deepEqual([d1.content.toString(), d2.content.toString()], ['1', '2']);
  assert.equal(deathsOf(d1)[0]!.reason, 'maxlen');
  assert.deepEqual(await drain(ch, 'capped'), ['3', '4', '5']);
});

void test('x-max-length-bytes: body bytes of ready messages are capped', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('bytes', { arguments: { 'x-max-length-bytes': 10 } });
  await publishAll(ch, 'bytes', ['aaaa', 'bbbb', 'cccc']); // 12 bytes: the head goes
  assert.deepEqual(await drain(ch, 'bytes'), ['bbbb', 'cccc']);
});

void test('x-max-length 0 drops every message (dead-lettered with a DLX)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('zero', {
    arguments: { 'x-max-length': 0, 'x-dead-letter-exchange': 'dlx' },
  });
  await publishAll(ch, 'zero', ['x']);
  assert.equal((await nextMessage(ch, 'dlq')).content.toString(), 'x');
  assert.equal((await ch.checkQueue('zero')).messageCount, 0);
});

void test('x-overflow reject-publish: publishes to a full queue are nacked and not enqueued', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('full', {
    durable: true,
    arguments: {
      'x-max-length': 2,
      'x-overflow': 'reject-publish',
      'x-dead-letter-exchange': 'dlx',
    },
  });
  const acks = await publishAll(ch, 'full', ['1', '2', '3', '4']);
  assert.deepEqual(acks, [true, true, false, false]);
  assert.equal((await ch.checkQueue('dlq')).messageCount, 0, 'reject-publish does not dead-letter');
  // Room again: accepted again.
  assert.ok((await ch.get('full', { noAck: true })) !== false);
  assert.deepEqual(await publishAll(ch, 'full', ['5']), [true]);
  assert.deepEqual(await drain(ch, 'full'), ['2', '5']);
});

void test('x-overflow reject-publish-dlx: nacked and dead-lettered (reason maxlen)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('full', {
    arguments: {
      'x-max-length': 1,
      'x-overflow': 'reject-publish-dlx',
      'x-dead-letter-exchange': 'dlx',
    },
  });
  assert.deepEqual(await publishAll(ch, 'full', ['kept', 'refused']), [true, false]);
  const d = await nextMessage(ch, 'dlq');
  assert.equal(d.content.toString(), 'refused');
  assert.equal(deathsOf(d)[0]!.reason, 'maxlen');
  assert.deepEqual(await drain(ch, 'full'), ['kept']);
});

void test('reject-publish on one queue of a fanout: the others take it, the publisher is nacked', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertExchange('fan', 'fanout');
  await ch.assertQueue('open');
  await ch.assertQueue('tight', {
    arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
  });
  await ch.bindQueue('open', 'fan', '');
  await ch.bindQueue('tight', 'fan', '');
  let returned = false;
  ch.on('return', () => (returned = true));
  const ok = await new Promise<boolean>((resolve) =>
    ch.publish('fan', '', Buffer.from('m'), { mandatory: true }, (err) => resolve(err == null)),
  );
  assert.equal(ok, false);
  assert.deepEqual(await drain(ch, 'open'), ['m']);
  assert.equal((await ch.checkQueue('tight')).messageCount, 0);
  assert.equal(returned, false, 'routed, so not returned as unroutable');
});
