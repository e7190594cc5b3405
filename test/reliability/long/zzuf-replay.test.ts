/** zzuf-mutated amqplib sessions, long variant: BATON_ZZUF_MUTANTS (default 100,000). */
import { test } from 'node:test';
import { runZzufReplay } from '../zzuf-replay.js';

void test('long: zzuf-mutated amqplib sessions never break the broker or the bystander (E6)', async (t) => {
  await runZzufReplay(t, {
    mutants: Number(process.env.BATON_ZZUF_MUTANTS ?? 100_000),
    // Fresh seeds each run unless pinned; the seed range is in the JSON result.
    firstSeed: Number(process.env.BATON_ZZUF_SEED ?? 10_000 + Math.floor(Math.random() * 1e8)),
    concurrency: 32,
    timeoutMs: 6000,
  });
});
