import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import amqp from 'amqplib';
// By package name: this goes through package.json `exports`, as an application's import would.
import { startBroker, Server } from 'baton';

void test("import { startBroker } from 'baton' starts an in-process broker amqplib can use; stop() closes it and removes its temp dir", async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  assert.ok(broker.server instanceof Server);
  assert.ok(broker.port > 0, 'a free port was picked');
  assert.ok(existsSync(broker.dataDir), 'the journal lives in a temp dir');
  const conn = await amqp.connect(broker.url);
  const ch = await conn.createConfirmChannel();
  const { queue } = await ch.assertQueue('embedded', { durable: true });
  ch.sendToQueue(queue, Buffer.from('hello'), { persistent: true });
  await ch.waitForConfirms();
  const m = await ch.get(queue, { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.toString(), 'hello');
  await conn.close();
  await broker.stop();
  await broker.stop(); // twice is fine
  assert.equal(existsSync(broker.dataDir), false, 'the temp data dir is gone');
  await assert.rejects(amqp.connect(broker.url), 'nothing listens any more');
});

void test('startBroker keeps a given data dir, and a restart on it finds the durable messages', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-embedded-test-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startBroker({ dataDir });
  t.after(() => first.stop());
  const conn = await amqp.connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('kept', { durable: true });
  ch.sendToQueue('kept', Buffer.from('survives'), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
  await first.stop();
  assert.ok(existsSync(dataDir), 'a data dir the caller gave is not removed');
  const second = await startBroker({ dataDir });
  t.after(() => second.stop());
  const conn2 = await amqp.connect(second.url);
  t.after(() => conn2.close().catch(() => {}));
  const ch2 = await conn2.createChannel();
  const m = await ch2.get('kept', { noAck: true });
  assert.ok(m !== false, 'the durable message was recovered');
  assert.equal(m.content.toString(), 'survives');
});
