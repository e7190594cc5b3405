import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, startBroker } from '../helpers/server.js';

void test('basic.get on a paged queue never answers get-empty while messages are on disk, and keeps order', async (t) => {
  // A tiny body budget: almost everything is paged out and read back for each get.
  const { url } = await startBroker(t, { bodyBudget: 8 * 1024 });
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('gp', { durable: true });
  // Spend the budget elsewhere first, so even the head of 'gp' is paged out at once.
  await ch.assertQueue('filler', { durable: true });
  for (let i = 0; i < 20; i++) ch.sendToQueue('filler', Buffer.alloc(1024), { persistent: true });
  const N = 600;
  // No wait for confirms: the first gets arrive while the records are still being written.
  for (let i = 0; i < N; i++)
    ch.sendToQueue('gp', Buffer.from(`${i}:${'x'.repeat(900)}`), { persistent: true });
  const got: number[] = [];
  for (let i = 0; i < N; i++) {
    const m = await ch.get('gp', { noAck: i % 2 === 0 });
    assert.ok(m !== false, `get ${i} answered get-empty with ${N - i} messages left`);
    assert.equal(m.fields.messageCount, N - i - 1);
    got.push(Number(m.content.toString().split(':')[0]));
    if (i % 2 === 1) ch.ack(m);
  }
  assert.deepEqual(
    got,
    Array.from({ length: N }, (_, i) => i),
  );
  assert.equal(await ch.get('gp'), false);
  // The channel is still in step: a declare after the gets answers with the right count.
  assert.equal((await ch.checkQueue('gp')).messageCount, 0);
});
