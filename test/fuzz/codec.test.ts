/**
 * Codec fuzzing, short variant (reliability plan E5): 10k inputs per decoder target. The
 * long variant (test/reliability/long/codec-fuzz.test.ts) runs the same targets with far more.
 * A failure prints fast-check's seed and shrunk counterexample: replay it with
 * BATON_FUZZ_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCodecFuzz, TARGETS } from './codec-fuzz.js';

const RUNS = 10_000;
const seed =
  process.env.BATON_FUZZ_SEED === undefined ? undefined : Number(process.env.BATON_FUZZ_SEED);

for (const target of TARGETS) {
  void test(`fuzz (${RUNS} runs): ${target.name} raise only AmqpDecodeError, never hang`, (t) => {
    const stats = runCodecFuzz(RUNS, seed, (n) => n === target.name).get(target.name)!;
    assert.ok(stats.inputs >= RUNS);
    t.diagnostic(
      `${stats.inputs} inputs, ${stats.decodeErrors} AmqpDecodeErrors, slowest ${stats.maxMs.toFixed(2)} ms`,
    );
  });
}
