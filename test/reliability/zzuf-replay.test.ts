/** zzuf-mutated amqplib sessions against a broker child, short variant (reliability plan E6). */
import { test } from 'node:test';
import { runZzufReplay } from './zzuf-replay.js';

void test('zzuf-mutated amqplib sessions close only their own connection; the bystander loses nothing (E6)', async (t) => {
  await runZzufReplay(t, {
    mutants: Number(process.env.BATON_ZZUF_MUTANTS ?? 2000),
    firstSeed: Number(process.env.BATON_ZZUF_SEED ?? 1),
    concurrency: 32,
    timeoutMs: 6000,
  });
});
