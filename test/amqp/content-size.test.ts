/**
 * Body sizes at the edges of the 64-bit field (issue 7 item 6): the text echoes the size the
 * client sent exactly, even past 2^53 where a JS number would round it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentHeader, MethodId, RawClient } from '../helpers/amqp-raw.js';
import { startBroker } from '../helpers/server.js';

for (const size of [2n ** 64n - 1n, 2n ** 53n + 1n]) {
  void test(`a content header announcing ${size} bytes is refused with 406 and the exact size in the text (RabbitMQ max_message_size)`, async (t) => {
    const { port } = await startBroker(t);
    const c = await RawClient.open(t, port);
    await c.handshake();
    await c.openChannel(1);
    c.sendMethod(1, MethodId.BasicPublish, {
      ticket: 0,
      exchange: '',
      routingKey: 'q',
      mandatory: false,
      immediate: false,
    });
    const h = contentHeader(1, 0);
    h.writeBigUInt64BE(size, 7 + 4);
    c.write(h);
    const close = await c.expectChannelClose(1);
    assert.equal(close.replyCode, 406);
    assert.match(close.replyText, new RegExp(`message size ${size} is larger`));
    // The connection survives a channel error.
    await c.openChannel(2);
  });
}
