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

void test('delivery-count crash: SIGKILL while poison messages fail; counts never go back and the limit holds across restarts (10 cycles)', async (t) => {
  const dataDir = tempDir(t, 'baton-count-crash-');
  const LIMIT = 12;
  const N = 40;
  /** Per message: the count synced before the kill (a confirmed publish after the nacks). */
  const synced = new Map<string, number>();
  const deliveries = new Map<string, number>();
  const dead = new Set<string>();
  let published = false;
  const violations: string[] = [];
  for (let cycle = 0; cycle < 10; cycle++) {
    let b = await spawnBroker(t, dataDir);
    const conn = await connect(t, b.url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('dlq', { durable: true });
    await ch.assertQueue('barrier', { durable: true });
    await ch.assertQueue('poison', {
      durable: true,
      arguments: {
        'x-delivery-limit': LIMIT,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': 'dlq',
      },
    });
    if (!published) {
      for (let i = 0; i < N; i++)
        ch.sendToQueue('poison', Buffer.from(`p${i}`), { persistent: true });
      await ch.waitForConfirms();
      published = true;
    }
    const seenNow = new Map<string, number>();
    const c = await conn.createChannel();
    await c.prefetch(10);
    let n = 0;
    const rounds = 15 + cycle * 3;
    await new Promise<void>((resolve) => {
      void c.consume('poison', (m) => {
        if (m === null) return;
        const k = m.content.toString();
        const count = Number(m.properties.headers?.['x-delivery-count'] ?? 0);
        // Never below what was synced before a kill: the count survived the restart.
        if (count < (synced.get(k) ?? 0))
          violations.push(`cycle ${cycle}: ${k} count ${count} < synced ${synced.get(k)}`);
        seenNow.set(k, count);
        deliveries.set(k, (deliveries.get(k) ?? 0) + 1);
        c.nack(m, false, true);
        if (++n === rounds) resolve();
      });
    });
    await c.close().catch(() => {});
    // A barrier: the confirm of a publish made after the nacks covers their failure records.
    const before = new Map(seenNow);
    ch.sendToQueue('barrier', Buffer.from('b'), { persistent: true });
    await ch.waitForConfirms();
    for (const [k, count] of before) synced.set(k, Math.max(synced.get(k) ?? 0, count + 1));
    await killBroker(b.child);
    b = await spawnBroker(t, dataDir);
    const conn2 = await connect(t, b.url);
    const ch2 = await openConfirmChannel(conn2);
    for (;;) {
      const m = await ch2.get('dlq', { noAck: true });
      if (m === false) break;
      dead.add(m.content.toString());
    }
    await conn2.close();
    await killBroker(b.child);
  }
  assert.deepEqual(violations, [], 'failure counts survived every restart');
  // Every poison message died of its limit, or is still failing: never lost, never looping.
  const b = await spawnBroker(t, dataDir);
  const conn = await connect(t, b.url);
  const ch = await openConfirmChannel(conn);
  await new Promise<void>((resolve) => {
    void ch.consume('poison', (m) => {
      if (m === null) return;
      const k = m.content.toString();
      deliveries.set(k, (deliveries.get(k) ?? 0) + 1);
      ch.nack(m, false, true);
    });
    void (async () => {
      await until(async () => (await ch.checkQueue('poison')).messageCount === 0, 'all to die');
      resolve();
    })();
  });
  await until(async () => (await ch.checkQueue('dlq')).messageCount + dead.size >= N, 'dlq');
  for (;;) {
    const m = await ch.get('dlq', { noAck: true });
    if (m === false) break;
    dead.add(m.content.toString());
  }
  assert.equal(dead.size, N, 'every poison message reached the dead-letter queue once');
  // The kill between a nack and its sync may lose one count per restart, never more.
  for (const [k, d] of deliveries) assert.ok(d <= LIMIT + 1 + 10, `${k}: ${d} deliveries`);
});
