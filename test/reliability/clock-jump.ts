/**
 * Clock jumps under libfaketime (reliability plan D5, D6), shared by the short test and the
 * long variant. The broker child runs with LD_PRELOAD=libfaketime and FAKETIME_TIMESTAMP_FILE
 * (FAKETIME_NO_CACHE=1, so every clock read sees the file); the test rewrites the file while
 * amqplib connections with 1 s heartbeats are open and a bystander publishes and consumes.
 * Wanted: no connection dropped, no crash, nothing lost.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import amqp from 'amqplib';
import { bystanderAdvances, startBystander } from '../helpers/amqp-raw.js';
import { libfaketime, requireCapability, spawnBrokerChild } from '../helpers/broker-child.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ClockJumpOptions {
  /** Also fake CLOCK_MONOTONIC (D6); otherwise only the wall clock jumps (D5). */
  monotonic: boolean;
  /** Offsets written to the timestamp file in turn, e.g. ['+2h', '-1h']. */
  offsets: string[];
  connections: number;
  /** How long each offset is held: more than two heartbeats. */
  holdMs: number;
}

export async function runClockJump(t: TestContext, o: ClockJumpOptions): Promise<void> {
  const lib = libfaketime();
  if (
    requireCapability(t, lib !== undefined, 'libfaketime not installed (apt-get install faketime)')
  )
    return;
  const dir = mkdtempSync(join(tmpdir(), 'baton-faketime-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'timestamp');
  writeFileSync(file, '+0\n');
  const broker = await spawnBrokerChild(t, {
    args: ['--heartbeat', '1'],
    env: {
      LD_PRELOAD: lib,
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: '1',
      ...(o.monotonic ? {} : { FAKETIME_DONT_FAKE_MONOTONIC: '1' }),
    },
  });
  const dropped: string[] = [];
  const conns: amqp.ChannelModel[] = [];
  for (let i = 0; i < o.connections; i++) {
    const c = await amqp.connect(`${broker.url}?heartbeat=1`);
    c.on('error', (e: Error) => dropped.push(`${i}: ${e.message}`));
    c.on('close', () => dropped.push(`${i}: closed`));
    conns.push(c);
  }
  t.after(() => Promise.all(conns.map((c) => c.close().catch(() => {}))));
  const bystander = await startBystander(t, broker.url);
  await bystanderAdvances(bystander, 50);
  await sleep(o.holdMs);
  for (const offset of o.offsets) {
    writeFileSync(file, `${offset}\n`);
    await sleep(o.holdMs);
    assert.equal(broker.exited(), false, `broker exited after the clock moved to ${offset}`);
    assert.deepEqual(dropped, [], `connections dropped after the clock moved to ${offset}`);
    await bystanderAdvances(bystander, 50);
  }
  writeFileSync(file, '+0\n');
  const { sent } = await bystander.stop();
  t.diagnostic(
    JSON.stringify({
      connections: o.connections,
      offsets: o.offsets,
      monotonic: o.monotonic,
      dropped: dropped.length,
      bystanderSent: sent,
    }),
  );
  assert.equal(broker.errors().length, 0, broker.errors().join('\n'));
}
