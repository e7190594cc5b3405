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

for (const method of ['select', 'commit', 'rollback'] as const) {
  void test(`amqplib: tx.${method} closes only its channel with 540 NOT_IMPLEMENTED; the connection and another channel keep publishing and consuming`, async (t) => {
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
    // amqplib has no tx API; its rpc sends any method and waits for the reply.
    const ids = {
      select: [0x005a000a, 0x005a000b],
      commit: [0x005a0014, 0x005a0015],
      rollback: [0x005a001e, 0x005a001f],
    };
    const [req, ok] = ids[method];
    (bad as unknown as { rpc(method: number, fields: object, expect: number): Promise<unknown> })
      .rpc(req!, {}, ok!)
      .catch(() => {});
    const e = await within(err, `channel.close after tx.${method}`);
    assert.equal(e.code, 540);
    assert.match(e.message, /NOT_IMPLEMENTED - tx\./);
    for (let i = 0; i < 10; i++) good.sendToQueue(queue, Buffer.from(String(i)));
    await within(good.waitForConfirms(), 'confirms on the other channel');
    await eventually(() => assert.equal(got.length, 10));
    assert.equal(connError, undefined, 'the connection saw no error');
    // And new channels open on the same connection.
    await (await openChannel(conn)).checkQueue(queue);
  });
}
