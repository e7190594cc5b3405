// Reliability plan A7: SIGKILL a consumer process that holds N unacked deliveries. The broker
// sees the socket close and requeues them: another consumer receives exactly those N, with
// redelivered=true, back at their original positions ahead of the never-delivered rest.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ConsumeMessage } from 'amqplib';
import { eventually } from '../helpers/core.js';
import { connect, killBroker, startBroker } from '../helpers/server.js';

const consumerScript = fileURLToPath(new URL('./amqp-consumer.js', import.meta.url));

interface Held {
  id: string;
  tag: number;
  redelivered: boolean;
}

function holdingConsumer(url: string, queue: string, prefetch: number) {
  const child = spawn(
    process.execPath,
    [consumerScript, url, queue, String(prefetch), String(prefetch)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const held: Held[] = [];
  let holding = false;
  let consuming = false;
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (l === 'consuming') consuming = true;
    else if (l.startsWith('holding')) holding = true;
    else held.push(JSON.parse(l) as Held);
  });
  const exited = once(child, 'exit');
  return {
    child,
    held,
    isHolding: () => holding,
    isConsuming: () => consuming,
    stderr: () => stderr,
    exited,
  };
}

for (const variant of ['after', 'while'] as const) {
  void test(`A7: SIGKILLed consumer's N unacked deliveries go to another consumer (started ${variant === 'after' ? 'after the kill' : 'before the kill'}) with redelivered=true`, async (t) => {
    const { url } = await startBroker(t);
    const conn = await connect(t, url);
    const ch = await conn.createConfirmChannel();
    const queue = 'a7';
    await ch.assertQueue(queue, { durable: true });
    const N = 30;
    const TOTAL = 100;

    const victim = holdingConsumer(url, queue, N);
    t.after(() => killBroker(victim.child));
    await eventually(() =>
      assert.ok(victim.isConsuming(), `consumer child did not start: ${victim.stderr()}`),
    );
    for (let i = 0; i < TOTAL; i++)
      ch.sendToQueue(queue, Buffer.from(`m-${i}`), { persistent: true, messageId: `m-${i}` });
    await ch.waitForConfirms();
    await eventually(() => assert.ok(victim.isHolding()));
    const heldIds = victim.held.map((h) => h.id);
    assert.deepEqual(
      heldIds,
      Array.from({ length: N }, (_, i) => `m-${i}`),
      'prefetch N: the victim holds the first N',
    );
    assert.ok(victim.held.every((h) => !h.redelivered));
    assert.equal((await ch.checkQueue(queue)).messageCount, TOTAL - N);

    // The survivor: a consumer in this process, acking as it goes.
    const got: ConsumeMessage[] = [];
    const survivorConn = await connect(t, url);
    const survivor = await survivorConn.createChannel();
    await survivor.prefetch(variant === 'while' ? 1000 : 10);
    const startSurvivor = () =>
      survivor.consume(queue, (m) => {
        if (!m) return;
        got.push(m);
        survivor.ack(m);
      });
    if (variant === 'while') {
      await startSurvivor();
      // It drains the never-delivered rest while the victim still holds its N.
      await eventually(() => assert.equal(got.length, TOTAL - N));
    }

    victim.child.kill('SIGKILL');
    await victim.exited;
    if (variant === 'after') await startSurvivor();
    await eventually(() => assert.equal(got.length, TOTAL));
    // Nothing more arrives: no duplicate or phantom redelivery.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got.length, TOTAL);

    const redelivered = got
      .filter((m) => m.fields.redelivered)
      .map((m) => m.properties.messageId as string);
    const fresh = got
      .filter((m) => !m.fields.redelivered)
      .map((m) => m.properties.messageId as string);
    assert.deepEqual(
      redelivered,
      heldIds,
      'exactly the N held deliveries come back redelivered, in order',
    );
    assert.deepEqual(
      fresh,
      Array.from({ length: TOTAL - N }, (_, i) => `m-${N + i}`),
      'the others arrive once, not redelivered',
    );
    if (variant === 'after') {
      // Requeued at their original positions: ahead of the messages that were never delivered.
      assert.deepEqual(
        got.map((m) => m.properties.messageId as string),
        Array.from({ length: TOTAL }, (_, i) => `m-${i}`),
      );
    }
    const q = await ch.checkQueue(queue);
    assert.equal(q.messageCount, 0);
  });
}
