/**
 * Process pauses (reliability plan D1, D2): the broker frozen past two client heartbeats, and a
 * consumer frozen past two heartbeats while it holds unacked messages.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { spawnBrokerChild } from '../helpers/broker-child.js';
import { eventually } from '../helpers/core.js';

const consumerChild = fileURLToPath(new URL('./sigstop-consumer-child.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Publishes persistent messages with confirms until stopped or the connection dies. */
async function publisher(url: string, queue: string, prefix: string) {
  const conn = await amqp.connect(`${url}?heartbeat=1`);
  let closed: unknown;
  conn.on('error', (e: unknown) => (closed ??= e));
  conn.on('close', () => (closed ??= 'closed'));
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  const attempted = new Set<string>();
  const confirmed = new Set<string>();
  let seq = 0;
  let running = true;
  const loop = (async () => {
    while (running && closed === undefined) {
      const id = `${prefix}-${seq++}`;
      attempted.add(id);
      ch.sendToQueue(queue, Buffer.from(id), { persistent: true, messageId: id }, (err) => {
        if (err === null || err === undefined) confirmed.add(id);
      });
      if (seq % 20 === 0) await ch.waitForConfirms().catch(() => {});
    }
  })();
  return {
    attempted,
    confirmed,
    closedReason: () => closed,
    stop: async () => {
      running = false;
      await loop;
      if (closed === undefined) {
        await ch.waitForConfirms().catch(() => {});
        await conn.close().catch(() => {});
      }
    },
  };
}

/** Reads the queue empty with basic.get; returns the ids seen. */
async function drain(url: string, queue: string): Promise<string[]> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const ids: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) break;
    ids.push(String(m.properties.messageId));
  }
  await conn.close();
  return ids;
}

void test('broker SIGSTOPped past two heartbeats: after SIGCONT it keeps running, clients reconnect, nothing confirmed is lost (D1)', async (t) => {
  const broker = await spawnBrokerChild(t, { args: ['--heartbeat', '1'] });
  const setup = await amqp.connect(broker.url);
  await (await setup.createChannel()).assertQueue('d1', { durable: true });
  await setup.close();

  const p1 = await publisher(broker.url, 'd1', 'before');
  await eventually(() => assert.ok(p1.confirmed.size >= 200, 'publisher confirmed too little'));
  process.kill(broker.pid, 'SIGSTOP');
  const pausedAt = performance.now();
  // 2 heartbeats of 1 s plus margin: amqplib gives up on the silent broker.
  await eventually(() => assert.notEqual(p1.closedReason(), undefined, 'client still open'));
  const clientNoticedMs = Math.round(performance.now() - pausedAt);
  await sleep(1000);
  process.kill(broker.pid, 'SIGCONT');
  await p1.stop();
  assert.equal(broker.exited(), false, 'the broker survived the pause');

  // Clients reconnect and carry on (an SDK would republish the unconfirmed ones).
  const p2 = await publisher(broker.url, 'd1', 'after');
  await eventually(() => assert.ok(p2.confirmed.size >= 100));
  await p2.stop();

  const seen = new Set(await drain(broker.url, 'd1'));
  const lost = [...p1.confirmed, ...p2.confirmed].filter((id) => !seen.has(id));
  const unexpected = [...seen].filter((id) => !p1.attempted.has(id) && !p2.attempted.has(id));
  const indeterminate = [...p1.attempted].filter((id) => !p1.confirmed.has(id));
  t.diagnostic(
    JSON.stringify({
      confirmed: p1.confirmed.size + p2.confirmed.size,
      indeterminate: indeterminate.length,
      recovered: indeterminate.filter((id) => seen.has(id)).length,
      lost: lost.length,
      unexpected: unexpected.length,
      clientNoticedMs,
      closedReason: String(p1.closedReason()),
    }),
  );
  assert.deepEqual(lost, [], 'confirmed messages lost');
  assert.deepEqual(unexpected, []);
  assert.equal(broker.errors().length, 0, broker.errors().join('\n'));
});

void test('a consumer SIGSTOPped past two heartbeats is closed by the broker and its unacked messages are redelivered with redelivered=true (D2)', async (t) => {
  const broker = await spawnBrokerChild(t, { args: ['--heartbeat', '1'] });
  const N = 10;
  const conn = await amqp.connect(`${broker.url}?heartbeat=1`);
  conn.on('error', () => {});
  t.after(() => conn.close().catch(() => {}));
  const pub = await conn.createConfirmChannel();
  await pub.assertQueue('d2', { durable: true });
  for (let i = 0; i < N; i++)
    pub.sendToQueue('d2', Buffer.from(`m${i}`), { persistent: true, messageId: `m${i}` });
  await pub.waitForConfirms();

  const child = spawn(process.execPath, [consumerChild, broker.url, 'd2', String(N)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const held = (JSON.parse(line.toString()) as { held: { id: string; redelivered: boolean }[] })
    .held;
  assert.equal(held.length, N);
  assert.ok(held.every((h) => !h.redelivered));

  process.kill(child.pid!, 'SIGSTOP');
  const frozenAt = performance.now();
  const sub = await conn.createChannel();
  const got: { id: string; redelivered: boolean; at: number }[] = [];
  await sub.consume('d2', (m) => {
    if (m === null) return;
    got.push({
      id: String(m.properties.messageId),
      redelivered: m.fields.redelivered,
      at: performance.now(),
    });
    sub.ack(m);
  });
  await eventually(() => assert.equal(got.length, N, 'unacked messages not redelivered'));
  t.diagnostic(
    JSON.stringify({ detectionMs: Math.round(got[0]!.at - frozenAt), redelivered: got.length }),
  );
  assert.deepEqual(got.map((g) => g.id).sort(), held.map((h) => h.id).sort());
  assert.ok(
    got.every((g) => g.redelivered),
    'every redelivery carries redelivered=true',
  );
  assert.equal(broker.exited(), false);
});
