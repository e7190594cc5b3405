import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, startBroker } from '../helpers/server.js';

void test('amqplib: declare, publish with confirms, consume, ack', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  const ok = await ch.assertQueue('smoke', { durable: true });
  assert.equal(ok.queue, 'smoke');
  for (let i = 0; i < 100; i++)
    ch.sendToQueue('smoke', Buffer.from(`m${i}`), { persistent: true, headers: { i } });
  await ch.waitForConfirms();
  const got: string[] = [];
  await ch.prefetch(10);
  await new Promise<void>((resolve) => {
    void ch.consume('smoke', (msg) => {
      if (!msg) return;
      got.push(msg.content.toString());
      assert.equal(msg.properties.headers?.i, got.length - 1);
      ch.ack(msg);
      if (got.length === 100) resolve();
    });
  });
  assert.deepEqual(
    got,
    Array.from({ length: 100 }, (_, i) => `m${i}`),
  );
});
