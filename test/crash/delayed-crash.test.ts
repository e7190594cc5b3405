// SIGKILL a broker while delayed messages are pending in an x-delayed-message exchange and
// being routed out of it (short delays, a small body budget so most wait paged out). Routing
// a due message is one atomic journal commit (settle in the delay store, enqueue on the
// target), so after the restarts every confirmed delayed message reaches the target queue
// exactly once: none lost, none twice. Seeded: BATON_CRASH_SEED=<n> replays a run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prng, seedFromEnv } from '../store/helpers.js';
import { expectNothingFor, tempDir, until } from '../helpers/core.js';
import { connect, killBroker, spawnBroker } from '../helpers/server.js';

const CYCLES = Math.max(10, Number(process.env.BATON_CRASH_CYCLES ?? 10));
const MAX_DELAY = 600;
const ARGS = ['--body-budget', String(32 * 1024)];

void test(`delayed crash: SIGKILL with delayed messages pending and due, ${CYCLES} cycles: each confirmed one delivered once`, async (t) => {
  const dataDir = tempDir(t, 'baton-delay-crash-');
  const seed = seedFromEnv('BATON_CRASH_SEED');
  const rand = prng(seed);
  const ctx = `seed ${seed} (BATON_CRASH_SEED)`;
  const confirmed = new Set<number>();
  const pad = 'p'.repeat(300);
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const b = await spawnBroker(t, dataDir, ARGS);
    const conn = await connect(t, b.url);
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertExchange('dx', 'x-delayed-message', {
      durable: true,
      arguments: { 'x-delayed-type': 'direct' },
    });
    await ch.assertQueue('out', { durable: true });
    await ch.bindQueue('out', 'dx', 'k');
    let killed = false;
    const killAt = 200 + Math.floor(rand() * 700);
    const kill = setTimeout(() => {
      killed = true;
      void killBroker(b.child);
    }, killAt);
    let id = cycle * 1_000_000;
    while (!killed) {
      for (let i = 0; i < 50 && !killed; i++) {
        const n = ++id;
        const delay = Math.floor(rand() * MAX_DELAY);
        try {
          ch.publish(
            'dx',
            'k',
            Buffer.from(`${n}:${pad}`),
            { persistent: true, headers: { 'x-delay': delay } },
            (err) => {
              if (err === null || err === undefined) confirmed.add(n);
            },
          );
        } catch {
          break; // the channel closed under the kill
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    clearTimeout(kill);
    await killBroker(b.child);
  }
  assert.ok(confirmed.size > 0, `${ctx}: nothing was confirmed`);

  const b = await spawnBroker(t, dataDir, ARGS);
  const conn = await connect(t, b.url);
  const ch = await conn.createChannel();
  const seen = new Map<number, number>();
  await ch.prefetch(0);
  await ch.consume('out', (m) => {
    if (m === null) return;
    const n = Number(m.content.toString().split(':')[0]);
    seen.set(n, (seen.get(n) ?? 0) + 1);
  });
  await until(
    () => [...confirmed].every((n) => seen.has(n)),
    `${ctx}: every confirmed delayed message delivered`,
    60_000,
  );
  // Everything left in the delay store is due by now: nothing more may come twice.
  await expectNothingFor(MAX_DELAY + 300, () => {
    for (const [n, count] of seen) assert.equal(count, 1, `${ctx}: message ${n} delivered twice`);
  });
  t.diagnostic(`${confirmed.size} confirmed, ${seen.size} delivered over ${CYCLES} kills`);
  await conn.close();
  await killBroker(b.child);
});
