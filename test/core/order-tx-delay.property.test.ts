/**
 * Delivery order with transactions and delayed delivery, property test (issue 10): the order
 * oracle of order.model.ts (priorities, groups, single active consumer) with transactional
 * slots (select, commit, rollback), publishes through an x-delayed-message exchange on a
 * mocked clock, clean restarts and crash-image restarts. Short variant; the long one is
 * test/reliability/long/order.property.test.ts. More runs: BATON_PROP_RUNS=<n>; replay a
 * failure: BATON_PROP_SEED=<seed> BATON_PROP_PATH=<path>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOrder } from './order.model.js';

const RUNS = Number(process.env.BATON_PROP_RUNS ?? 200);

void test(`delivery order with transactions (${RUNS} runs): nothing of an open transaction seen, commits applied in order, rollback and close restore exactly, restarts and crashes keep exactly the committed state`, async (t) => {
  const stats = await checkOrder(
    t,
    RUNS,
    { priorities: true, tx: true, delays: false, crash: true },
    80,
  );
  if (process.env.BATON_PROP_PATH === undefined) assert.equal(stats.runs, RUNS);
  t.diagnostic(`${stats.runs} runs, ${stats.commands} commands, ${JSON.stringify(stats.seen)}`);
});

void test(`delivery order with delays and transactions (${RUNS} runs): a delayed message never delivered early, due ones in (due, entry) order then by priority and group, pending ones kept across restarts and crashes, held until commit in a transaction`, async (t) => {
  const stats = await checkOrder(
    t,
    RUNS,
    { priorities: true, tx: true, delays: true, crash: true },
    80,
  );
  if (process.env.BATON_PROP_PATH === undefined) assert.equal(stats.runs, RUNS);
  t.diagnostic(`${stats.runs} runs, ${stats.commands} commands, ${JSON.stringify(stats.seen)}`);
});
