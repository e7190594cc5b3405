/**
 * Deduplicated retries across crashes: a producer publishes persistent messages with
 * publisher confirms and deduplication ids to a durable x-message-deduplication queue; the
 * broker child is SIGKILLed mid-load, restarted on the same data dir, and the producer resends
 * every id it has no confirm for (as a retrying producer does) plus a few confirmed ones. After
 * the last cycle it resends until everything is confirmed, then drains the queue: every id is
 * there exactly once (the journaled id and its message are one atomic commit, so neither a
 * lost nor a doubled message can come out of a crash). Seeded: BATON_CRASH_SEED=<n> replays a
 * run; BATON_CRASH_CYCLES sets the kills (default 10).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { tempDir } from '../helpers/core.js';
import { killBroker, spawnBroker } from '../helpers/server.js';
import { prng } from '../reliability/harness.js';

const QUEUE = 'dedup-crash';
/** Publishes per event-loop turn of the load. */
const BURST = 25;

interface Producer {
  conn: amqp.ChannelModel;
  ch: amqp.ConfirmChannel;
  closed: boolean;
}

async function open(url: string): Promise<Producer> {
  const conn = await amqp.connect(url);
  const p: Producer = { conn, ch: await conn.createConfirmChannel(), closed: false };
  const down = (): void => {
    p.closed = true;
  };
  conn.on('error', down);
  conn.on('close', down);
  p.ch.on('error', down);
  p.ch.on('close', down);
  await p.ch.assertQueue(QUEUE, {
    durable: true,
    arguments: { 'x-message-deduplication': true, 'x-cache-size': 1_000_000 },
  });
  return p;
}

void test('deduplicated retries across SIGKILLs: every id ends up in the queue exactly once', async (t) => {
  const cycles = Number(process.env.BATON_CRASH_CYCLES ?? 10);
  const seed =
    process.env.BATON_CRASH_SEED !== undefined
      ? Number(process.env.BATON_CRASH_SEED)
      : randomInt(2 ** 31);
  const rand = prng(seed);
  const ctx = `seed ${seed} (BATON_CRASH_SEED)`;
  t.diagnostic(`${ctx}, cycles ${cycles}`);
  const dataDir = tempDir(t, 'baton-dedup-crash-');
  const args = ['--segment-size', String(256 * 1024)];
  /** Ids sent at least once, and the ones a basic.ack covered. */
  const sent = new Set<number>();
  const confirmed = new Set<number>();
  let nextId = 1;
  let resent = 0;
  let resentConfirmed = 0;

  /** Publish `id` once; the confirm (if any) marks it. */
  const publish = (p: Producer, id: number): boolean => {
    sent.add(id);
    const body = Buffer.from(`${id}:`.padEnd(64 + (id % 200), '#'));
    try {
      return p.ch.publish(
        '',
        QUEUE,
        body,
        { persistent: true, headers: { 'x-deduplication-header': `id-${id}` } },
        (err) => {
          if (err === null || err === undefined) confirmed.add(id);
        },
      );
    } catch {
      // The channel closed under us (the kill): the id stays unconfirmed.
      p.closed = true;
      return false;
    }
  };

  /** Resend what is unconfirmed and a few confirmed ids, then new ids until the kill. */
  const load = async (p: Producer, stopAt: () => boolean): Promise<void> => {
    for (const id of sent) {
      if (p.closed) return;
      if (!confirmed.has(id)) {
        publish(p, id);
        resent++;
      } else if (rand() < 0.02) {
        publish(p, id);
        resentConfirmed++;
      }
    }
    while (!p.closed && !stopAt()) {
      for (let i = 0; i < BURST && !p.closed; i++) {
        publish(p, nextId++);
        if (rand() < 0.05 && nextId > 2) {
          // A producer's immediate retry (a confirm it thinks it lost).
          publish(p, nextId - 1 - Math.floor(rand() * Math.min(50, nextId - 1)));
        }
      }
      await sleep(1);
    }
  };

  let broker = await spawnBroker(t, dataDir, args);
  for (let cycle = 0; cycle < cycles; cycle++) {
    const p = await open(broker.url);
    const killAt = Date.now() + 150 + Math.floor(rand() * 600);
    const loading = load(p, () => false);
    await sleep(Math.max(0, killAt - Date.now()));
    await killBroker(broker.child);
    await loading;
    await p.conn.close().catch(() => {});
    broker = await spawnBroker(t, dataDir, args);
  }

  // No more faults: resend until every id is confirmed.
  const p = await open(broker.url);
  for (let round = 0; round < 20 && confirmed.size < sent.size; round++) {
    await load(p, () => true);
    await p.ch.waitForConfirms();
  }
  assert.equal(confirmed.size, sent.size, `${ctx}: everything is confirmed in the end`);

  const counts = new Map<number, number>();
  const { messageCount } = await p.ch.checkQueue(QUEUE);
  let bad = 0;
  await new Promise<void>((resolve) => {
    let n = 0;
    if (messageCount === 0) resolve();
    void p.ch.consume(
      QUEUE,
      (m) => {
        if (m === null) return;
        const id = Number(m.content.toString().split(':')[0]);
        if (m.properties.headers?.['x-deduplication-header'] !== `id-${id}`) bad++;
        counts.set(id, (counts.get(id) ?? 0) + 1);
        if (++n === messageCount) resolve();
      },
      { noAck: true },
    );
  });
  assert.equal(bad, 0, `${ctx}: bodies and ids disagree`);
  assert.equal((await p.ch.checkQueue(QUEUE)).messageCount, 0, ctx);
  // Stopped here, not in teardown: the data dir's removal must not race a live broker.
  await p.conn.close().catch(() => {});
  await killBroker(broker.child);
  const doubled = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = [...sent].filter((id) => !counts.has(id));
  const unknown = [...counts.keys()].filter((id) => !sent.has(id));
  assert.deepEqual(doubled.slice(0, 20), [], `${ctx}: ids enqueued twice`);
  assert.deepEqual(missing.slice(0, 20), [], `${ctx}: confirmed ids missing`);
  assert.deepEqual(unknown, [], `${ctx}: ids never sent`);
  assert.ok(sent.size > cycles * 10, `${ctx}: only ${sent.size} ids were sent`);
  t.diagnostic(
    `${ctx}: ${sent.size} ids, ${resent} unconfirmed resends, ${resentConfirmed} confirmed ` +
      `resends, all in the queue once`,
  );
});
