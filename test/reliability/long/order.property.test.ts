/**
 * Delivery order, property test, long variant (`npm run reliability`): the order oracle
 * (test/core/order.model.ts) with priorities, groups, single active consumer, transactions,
 * delayed delivery, restarts and crashes, more runs and longer command sequences.
 * BATON_PROP_RUNS=<n> overrides; replay: BATON_PROP_SEED=<seed> BATON_PROP_PATH=<path>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOrder } from '../../core/order.model.js';

const RUNS = Number(process.env.BATON_PROP_RUNS ?? 5_000);

void test(`delivery order, long (${RUNS} runs, up to 100 commands): priorities, groups, transactions, delays, restarts, crashes`, async (t) => {
  const stats = await checkOrder(
    t,
    RUNS,
    { priorities: true, tx: true, delays: true, crash: true },
    100,
  );
  if (process.env.BATON_PROP_PATH === undefined) assert.equal(stats.runs, RUNS);
  t.diagnostic(`${stats.runs} runs, ${stats.commands} commands, ${JSON.stringify(stats.seen)}`);
});
