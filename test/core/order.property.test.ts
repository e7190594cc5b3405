/**
 * Delivery order, property test (issue 10): priorities, message groups and single active
 * consumer together under random publish, consume, get, ack, nack, close and restart sequences (see
 * order.model.ts). More runs: BATON_PROP_RUNS=<n>; replay a failure: BATON_PROP_SEED=<seed>
 * BATON_PROP_PATH=<path>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOrder } from './order.model.js';

const RUNS = Number(process.env.BATON_PROP_RUNS ?? 300);

void test(`delivery order (${RUNS} runs): one message of a group out at a time and in order, priorities then FIFO, one active consumer, nothing in two places`, async (t) => {
  const stats = await checkOrder(t, RUNS, {
    priorities: true,
    tx: false,
    delays: false,
    crash: false,
  });
  if (process.env.BATON_PROP_PATH === undefined) assert.equal(stats.runs, RUNS);
  t.diagnostic(`${stats.runs} runs, ${stats.commands} commands`);
});
