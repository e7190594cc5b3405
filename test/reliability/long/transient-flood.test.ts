// Long variant of test/core/spill-flood.test.ts, run by `npm run reliability` (not npm test):
// 1.8M x 1 KiB non-persistent messages into a queue nobody reads, --body-budget 16 MiB. Before
// the transient spill this took the broker from 55 MiB to 3 GiB RSS. Reports the peak RSS,
// asserts a generous bound, then drains everything in order exactly once.
// BATON_FLOOD_MESSAGES overrides the count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { tempDir } from '../../helpers/core.js';
import { drainInOrder, flood, peakRss, untilCount } from '../../helpers/flood.js';
import { spawnBroker } from '../../helpers/server.js';

const MiB = 1024 * 1024;
const N = Number(process.env.BATON_FLOOD_MESSAGES ?? 1_800_000);

void test(`long flood: ${N} x 1 KiB transient messages, 16 MiB body budget`, async (t) => {
  const dir = tempDir(t);
  const budget = 16 * MiB;
  const { child, url } = await spawnBroker(t, dir, ['--body-budget', String(budget)]);
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  await ch.assertQueue('flood', { durable: false });
  const t0 = performance.now();
  await flood(ch, 'flood', N, 1024);
  await untilCount(ch, 'flood', N);
  const published = performance.now() - t0;
  const peak = peakRss(child.pid!);
  const line =
    `flood: ${N} x 1 KiB published in ${(published / 1000).toFixed(1)} s; ` +
    `broker peak RSS ${(peak / MiB).toFixed(0)} MiB`;
  t.diagnostic(line);
  assert.ok(peak < budget + 200 * MiB, line);

  const t1 = performance.now();
  const consumer = await conn.createChannel();
  assert.equal(await drainInOrder(consumer, 'flood', N), N);
  await untilCount(ch, 'flood', 0);
  const drained = `flood: drained in order in ${((performance.now() - t1) / 1000).toFixed(1)} s; peak RSS ${(peakRss(child.pid!) / MiB).toFixed(0)} MiB`;
  t.diagnostic(drained);
  await conn.close();
});
