// SIGKILL while a large redrive runs: every move is one atomic journal commit (the enqueue on
// the target and the settle in the source), so after a restart each message is in exactly one
// of the two queues, none lost, none duplicated. Each cycle moves the fuller queue into the
// other one and kills the broker once the move has visibly begun.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { controlRequest } from '../../src/protocol/control/client.js';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { tempDir, until } from '../helpers/core.js';
import { connect, killBroker, spawnBroker } from '../helpers/server.js';

const N = 6000;
const CYCLES = Math.max(10, Number(process.env.BATON_REDRIVE_CYCLES ?? 10));

/** Every ready message of `queue` by body, taken unacked (closing the connection puts them back). */
async function census(ch: amqp.Channel, queue: string, seen: Map<string, number>): Promise<number> {
  const expected = (await ch.checkQueue(queue)).messageCount;
  let got = 0;
  await new Promise<void>((resolve) => {
    if (expected === 0) return resolve();
    void ch.consume(queue, (m) => {
      if (m === null) return;
      const k = m.content.toString();
      seen.set(k, (seen.get(k) ?? 0) + 1);
      if (++got === expected) resolve();
    });
  });
  return expected;
}

void test(`redrive crash: SIGKILL mid-redrive, ${CYCLES} cycles: each message in exactly one queue`, async (t) => {
  const dataDir = tempDir(t, 'baton-rd-crash-');
  const socket = join(dataDir, 'baton.sock');
  let midway = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    let b = await spawnBroker(t, dataDir);
    let conn = await connect(t, b.url);
    let ch = await openConfirmChannel(conn);
    if (cycle === 0) {
      await ch.assertQueue('dlq', { durable: true });
      await ch.assertQueue('work', { durable: true });
      for (let i = 0; i < N; i++)
        ch.sendToQueue('dlq', Buffer.from(`m${i}:${'x'.repeat(100)}`), {
          persistent: true,
          headers: { 'x-death': [{ count: 1, reason: 'rejected', queue: 'work' }] },
        });
      await ch.waitForConfirms();
    }
    const inDlq = (await ch.checkQueue('dlq')).messageCount;
    const [from, to] = inDlq >= N / 2 ? ['dlq', 'work'] : ['work', 'dlq'];
    const before = (await ch.checkQueue(to)).messageCount;
    // Cycle 0 follows x-death home; the others move with an explicit target.
    const req = cycle === 0 ? { op: 'redrive', queue: from } : { op: 'redrive', queue: from, to };
    let answered = false;
    void controlRequest(socket, req).then(
      () => (answered = true),
      () => (answered = true),
    );
    // Kill once the move has begun (the target grew), or at once if it is already done.
    await until(
      async () => answered || (await ch.checkQueue(to)).messageCount > before,
      'the redrive to begin',
    );
    await killBroker(b.child);

    b = await spawnBroker(t, dataDir);
    conn = await connect(t, b.url);
    ch = await openConfirmChannel(conn);
    const seen = new Map<string, number>();
    const a = await census(ch, 'dlq', seen);
    const w = await census(ch, 'work', seen);
    if (a !== 0 && w !== 0) midway++;
    assert.equal(a + w, N, `cycle ${cycle}: ${a} + ${w} messages in the two queues`);
    assert.equal(seen.size, N, `cycle ${cycle}: every message is somewhere`);
    for (const [k, n] of seen) assert.equal(n, 1, `cycle ${cycle}: ${k} is in one queue only`);
    await conn.close();
    await killBroker(b.child);
  }
  t.diagnostic(`${midway} of ${CYCLES} kills landed mid-redrive (both queues non-empty after)`);
});
