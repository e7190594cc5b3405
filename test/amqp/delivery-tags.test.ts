import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

void test('no-ack deliveries and no-ack basic.get are numbered 1, 2, 3 with the acked ones (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('tags', { durable: false });
  for (let i = 0; i < 6; i++) ch.sendToQueue('tags', Buffer.from(`m${i}`));
  await ch.waitForConfirms();
  const tags: number[] = [];
  // Mixed on one channel: get (no-ack), get (ack), then a no-ack consumer: one sequence.
  const a = await ch.get('tags', { noAck: true });
  const b = await ch.get('tags', { noAck: false });
  assert.ok(a !== false && b !== false);
  tags.push(a.fields.deliveryTag, b.fields.deliveryTag);
  ch.ack(b);
  await new Promise<void>((resolve) => {
    void ch.consume(
      'tags',
      (m) => {
        if (m === null) return;
        tags.push(m.fields.deliveryTag);
        if (tags.length === 6) resolve();
      },
      { noAck: true },
    );
  });
  assert.deepEqual(tags, [1, 2, 3, 4, 5, 6]);
});
