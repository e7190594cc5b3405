// A transient flood into a queue nobody reads, against `baton serve` as a child process: its
// peak RSS stays near the body budget (the rest waits in spill files), then everything drains
// in order exactly once. A SIGKILLed broker's spill files are wiped by the next start.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import amqp from 'amqplib';
import { tempDir } from '../helpers/core.js';
import { drainInOrder, flood, peakRss, untilCount } from '../helpers/flood.js';
import { killBroker, spawnBroker } from '../helpers/server.js';

const MiB = 1024 * 1024;
const spillFiles = (dir: string): string[] =>
  existsSync(join(dir, 'transient')) ? readdirSync(join(dir, 'transient')) : [];

void test('flood: 200k x 1 KiB transient messages past a 16 MiB budget keep RSS bounded, then drain in order', async (t) => {
  const dir = tempDir(t);
  const budget = 16 * MiB;
  const { child, url } = await spawnBroker(t, dir, ['--body-budget', String(budget)]);
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  await ch.assertQueue('flood', { durable: false });
  const N = 200_000;
  await flood(ch, 'flood', N, 1024);
  await untilCount(ch, 'flood', N);
  assert.ok(spillFiles(dir).length > 0, 'spill files exist while the backlog waits');
  const peak = peakRss(child.pid!);
  t.diagnostic(`peak RSS after ${N} x 1 KiB: ${(peak / MiB).toFixed(0)} MiB`);
  // Without the spill, ~200 MiB of bodies (plus per-message objects) would be held.
  assert.ok(peak < budget + 200 * MiB, `peak RSS ${(peak / MiB).toFixed(0)} MiB`);

  const consumer = await conn.createChannel();
  assert.equal(await drainInOrder(consumer, 'flood', N), N);
  await untilCount(ch, 'flood', 0);
  assert.equal((await ch.checkQueue('flood')).messageCount, 0);
  assert.deepEqual(spillFiles(dir), []);
  // Closed here: the child is killed by the hooks, and a close to a dead broker never answers.
  await conn.close();
});

void test('flood: persistent and transient interleaved survive a SIGKILL as RabbitMQ does (persistent only); spill files are wiped', async (t) => {
  const dir = tempDir(t);
  const first = await spawnBroker(t, dir, ['--body-budget', String(MiB)]);
  const conn = await amqp.connect(first.url);
  conn.on('error', () => {});
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('mixed', { durable: true });
  const N = 20_000;
  // Every third message persistent.
  await flood(ch, 'mixed', N, 1024, (i) => i % 3 === 0);
  await ch.waitForConfirms();
  await untilCount(ch, 'mixed', N);
  assert.ok(spillFiles(dir).length > 0);
  await killBroker(first.child);

  const second = await spawnBroker(t, dir, ['--body-budget', String(MiB)]);
  assert.deepEqual(spillFiles(dir), []);
  const c2 = await amqp.connect(second.url);
  c2.on('error', () => {});
  const ch2 = await c2.createChannel();
  const persistentCount = Math.ceil(N / 3);
  assert.equal((await ch2.checkQueue('mixed')).messageCount, persistentCount);
  await ch2.prefetch(500);
  const got: number[] = [];
  await new Promise<void>((resolve) => {
    void ch2.consume('mixed', (m) => {
      if (m === null) return;
      got.push(m.content.readDoubleLE(0));
      ch2.ack(m);
      if (got.length === persistentCount) resolve();
    });
  });
  assert.deepEqual(
    got,
    Array.from({ length: persistentCount }, (_, i) => i * 3),
  );
  await c2.close();
});
