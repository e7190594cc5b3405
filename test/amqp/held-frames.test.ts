import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMethodFrame, MethodId } from '../../src/protocol/amqp/generated/methods.js';
import { RawClient, contentBody, contentHeader, openConfirmChannel } from '../helpers/amqp-raw.js';
import { until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

/**
 * A basic.get that waits for a paged read holds the connection's later frames; they must all
 * still take effect, in order, even when the client closes (or drops) right after them.
 */
for (const ending of ['connection.close', 'socket end'] as const) {
  void test(`frames after a waiting basic.get are carried out before a ${ending}`, async (t) => {
    const { url, port } = await startBroker(t, { bodyBudget: 4096 });
    const conn = await connect(t, url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('src', { durable: true });
    await ch.assertQueue('dst', { durable: true });
    for (let i = 0; i < 2000; i++)
      ch.sendToQueue('src', Buffer.alloc(1000, 'a'), { persistent: true });
    await ch.waitForConfirms();

    const raw = await RawClient.open(t, port);
    await raw.handshake();
    await raw.openChannel(1);
    const frames: Buffer[] = [];
    for (let k = 0; k < 8; k++)
      frames.push(
        encodeMethodFrame(1, MethodId.BasicGet, { ticket: 0, queue: 'src', noAck: true }),
      );
    for (let i = 0; i < 100; i++) {
      frames.push(
        encodeMethodFrame(1, MethodId.BasicPublish, {
          ticket: 0,
          exchange: '',
          routingKey: 'dst',
          mandatory: false,
          immediate: false,
        }),
        contentHeader(1, 2, {}),
        contentBody(1, Buffer.from('ab')),
      );
    }
    if (ending === 'connection.close')
      frames.push(
        encodeMethodFrame(0, MethodId.ConnectionClose, {
          replyCode: 200,
          replyText: 'bye',
          classId: 0,
          methodId: 0,
        }),
      );
    raw.write(Buffer.concat(frames));
    if (ending === 'socket end') raw.socket.end();
    await until(
      async () => (await ch.checkQueue('dst')).messageCount === 100,
      'all 100 publishes sent after the gets to be enqueued',
    );
    assert.equal((await ch.checkQueue('src')).messageCount, 2000 - 8);
  });
}
