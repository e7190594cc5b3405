/**
 * Crash tests for the failure policies (issue 9): SIGKILL while messages expire and are
 * dead-lettered, and while poison messages fail deliveries. Every confirmed message must be in
 * exactly one place after the restart, and failed-delivery counts must never go back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { tempDir, until } from '../helpers/core.js';
import { connect, killBroker, spawnBroker } from '../helpers/server.js';

/** Every message in `queue` (basic.get, left unacked so nothing changes), by body. */
async function contents(ch: amqp.Channel, queue: string, into: Map<string, number>): Promise<void> {
  for (;;) {
    const m = await ch.get(queue, { noAck: false });
    if (m === false) return;
    const k = m.content.toString();
    into.set(k, (into.get(k) ?? 0) + 1);
  }
}

void test('expiry crash: SIGKILL while messages expire into a DLQ; after restart each confirmed one is in exactly one queue (10 cycles)', async (t) => {
  const dataDir = tempDir(t, 'baton-ttl-crash-');
  const N = 400;
  const confirmed = new Set<string>();
  for (let cycle = 0; cycle < 10; cycle++) {
    let b = await spawnBroker(t, dataDir);
    let conn = await connect(t, b.url);
    let ch = await openConfirmChannel(conn);
    await ch.assertQueue('dlq', { durable: true });
    // Long TTL in one queue (the kill finds them waiting), short in the other (mid-expiry).
    for (const [q, ttl] of [
      ['ttl0', 400],
      ['ttl1', 5],
    ] as const)
      await ch.assertQueue(q, {
        durable: true,
        arguments: {
          'x-message-ttl': ttl,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': 'dlq',
        },
      });
    let acked = 0;
    const stop = Math.floor(N * (0.3 + 0.07 * cycle));
    await new Promise<void>((resolve) => {
      for (let i = 0; i < N; i++) {
        const k = `${cycle}:${i}`;
        ch.sendToQueue(`ttl${cycle % 2}`, Buffer.from(k), { persistent: true }, (err) => {
          if (err == null) confirmed.add(k);
          if (++acked === stop) resolve();
        });
      }
    });
    await killBroker(b.child);
    b = await spawnBroker(t, dataDir);
    conn = await connect(t, b.url);
    ch = await openConfirmChannel(conn);
    // Whatever had not expired at the kill expires now (its TTL counts from its arrival).
    for (const q of ['ttl0', 'ttl1'])
      await until(
        async () => (await ch.checkQueue(q)).messageCount === 0,
        `${q} to expire after the restart`,
      );
    const seen = new Map<string, number>();
    await contents(ch, 'dlq', seen);
    for (const k of confirmed) assert.equal(seen.get(k), 1, `cycle ${cycle}: ${k} once in dlq`);
    for (const [k, n] of seen) assert.equal(n, 1, `cycle ${cycle}: ${k} not duplicated`);
    await conn.close();
    await killBroker(b.child);
  }
});
