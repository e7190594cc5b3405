/**
 * Codec fuzzing, long variant (reliability plan E5): BATON_FUZZ_RUNS inputs per target
 * (default 1,000,000), for `npm run reliability`.
 */
import { test } from 'node:test';
import { runCodecFuzz, TARGETS } from '../../fuzz/codec-fuzz.js';

const RUNS = Number(process.env.BATON_FUZZ_RUNS ?? 1_000_000);
const seed =
  process.env.BATON_FUZZ_SEED === undefined ? undefined : Number(process.env.BATON_FUZZ_SEED);

for (const target of TARGETS) {
  void test(`long fuzz (${RUNS} runs): ${target.name}`, (t) => {
    const stats = runCodecFuzz(RUNS, seed, (n) => n === target.name).get(target.name)!;
    t.diagnostic(JSON.stringify({ target: target.name, ...stats }));
  });
}
