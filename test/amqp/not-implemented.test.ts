import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers/core.js';
import {
  assertServing,
  connectionClosed,
  contentBody,
  contentHeader,
  MethodId,
  nextChannelError,
  openChannel,
  openConfirmChannel,
  RawClient,
  txCommit,
  txRollback,
  txSelect,
  within,
  type AmqpError,
} from '../helpers/amqp-raw.js';
import { encodeMethodFrame } from '../../src/protocol/amqp/generated/methods.js';
import { connect, startBroker } from '../helpers/server.js';

void test("basic.publish immediate=true is refused with 540 and RabbitMQ's exact text 'NOT_IMPLEMENTED - immediate=true' (raw frames)", async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake();
  await c.openChannel(1);
  c.write(
    encodeMethodFrame(1, MethodId.BasicPublish, {
      ticket: 0,
      exchange: '',
      routingKey: 'q',
      mandatory: false,
      immediate: true,
    }),
  );
  c.write(contentHeader(1, 1));
  c.write(contentBody(1, Buffer.from('x')));
  const close = await c.expectConnectionClose();
  assert.equal(close.replyCode, 540);
  assert.equal(close.replyText, 'NOT_IMPLEMENTED - immediate=true');
  assert.equal(close.classId, 60, 'names basic');
  assert.equal(close.methodId, 40, 'names basic.publish');
  await c.waitClosed();
  await assertServing(t, url);
});

void test("amqplib: a publish with immediate=true gets 540 'NOT_IMPLEMENTED - immediate=true' and the broker keeps serving (RabbitMQ)", async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const closed = connectionClosed(conn);
  const ch = await openChannel(conn);
  // amqplib always sends immediate=false from publish(); its lower-level send takes the fields.
  (
    ch as unknown as {
      sendMessage(fields: object, properties: object, content: Buffer): boolean;
    }
  ).sendMessage(
    { exchange: '', routingKey: 'q', mandatory: false, immediate: true, ticket: 0 },
    {},
    Buffer.from('x'),
  );
  const err = (await within(closed, 'the close after immediate=true')) as AmqpError | undefined;
  assert.ok(err !== undefined, 'the connection closed with an error');
  assert.equal(err.code, 540);
  assert.match(err.message, /"NOT_IMPLEMENTED - immediate=true"/);
  await assertServing(t, url);
});

// Transactions landed in issue 10 (test/amqp/transactions.test.ts): tx.select is answered, and
// tx.commit / tx.rollback without it close only their channel, now with 406.
for (const method of ['commit', 'rollback'] as const) {
  void test(`amqplib: tx.${method} without tx.select closes only its channel with 406; the connection and another channel keep publishing and consuming`, async (t) => {
    const { url } = await startBroker(t);
    const conn = await connect(t, url);
    let connError: unknown;
    conn.on('error', (e) => (connError = e));
    const good = await openConfirmChannel(conn);
    const { queue } = await good.assertQueue('', { exclusive: true, durable: false });
    const got: string[] = [];
    await good.consume(queue, (m) => {
      if (m === null) return;
      got.push(m.content.toString());
      good.ack(m);
    });
    const bad = await openChannel(conn);
    const err = nextChannelError(bad);
    (method === 'commit' ? txCommit(bad) : txRollback(bad)).catch(() => {});
    const e = await within(err, `channel.close after tx.${method}`);
    assert.equal(e.code, 406);
    assert.match(e.message, /PRECONDITION_FAILED - channel is not transactional/);
    for (let i = 0; i < 10; i++) good.sendToQueue(queue, Buffer.from(String(i)));
    await within(good.waitForConfirms(), 'confirms on the other channel');
    await eventually(() => assert.equal(got.length, 10));
    assert.equal(connError, undefined, 'the connection saw no error');
    // And new channels open on the same connection, tx.select answered.
    await within(txSelect(await openChannel(conn)), 'tx.select-ok');
  });
}
