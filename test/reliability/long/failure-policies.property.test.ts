/**
 * Failure policies, property test, long variant (`npm run reliability`): the short one's
 * oracle (test/core/failure-policies.model.ts) with more runs and longer command sequences.
 * BATON_PROP_RUNS=<n> overrides; replay: BATON_PROP_SEED=<seed> BATON_PROP_PATH=<path>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFailurePolicies } from '../../core/failure-policies.model.js';

const RUNS = Number(process.env.BATON_PROP_RUNS ?? 20_000);

void test(`failure policies, long (${RUNS} runs, up to 80 commands)`, async (t) => {
  const stats = await checkFailurePolicies(t, RUNS, 80);
  if (process.env.BATON_PROP_PATH === undefined) assert.equal(stats.runs, RUNS);
  t.diagnostic(
    `${stats.runs} runs, ${stats.commands} commands, fates ${JSON.stringify(stats.fates)}`,
  );
});
