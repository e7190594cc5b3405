/**
 * Failure policies, property test (issue 9): random queue policies and random sequences of
 * publish, consume, get, ack, nack, clock steps, session closes and restarts through the
 * Session door, checked against an oracle (see failure-policies.model.ts). Short variant; the
 * long one is test/reliability/long/failure-policies.property.test.ts. More runs here:
 * BATON_PROP_RUNS=<n>; replay a failure: BATON_PROP_SEED=<seed> BATON_PROP_PATH=<path>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkFailurePolicies,
  replayFailurePolicies,
  type Cmd,
  type Policy,
} from './failure-policies.model.js';

const NONE: Policy = {
  ttl: undefined,
  maxLength: undefined,
  maxLengthBytes: undefined,
  overflow: 'drop-head',
  deliveryLimit: undefined,
  dlx: false,
};

const RUNS = Number(process.env.BATON_PROP_RUNS ?? 400);

void test(`failure policies (${RUNS} runs): every message acked, dead-lettered, dropped by a policy or still queued, exactly one, in order`, async (t) => {
  const stats = await checkFailurePolicies(t, RUNS);
  if (process.env.BATON_PROP_PATH === undefined) assert.equal(stats.runs, RUNS);
  t.diagnostic(
    `${stats.runs} runs, ${stats.commands} commands, fates ${JSON.stringify(stats.fates)}`,
  );
});

/**
 * Shrunk counterexamples the property found that replay deterministically (the others raced a
 * timer; test/core/failure-policies.test.ts has the requeue one as a plain test).
 */
const FOUND: { what: string; policy: Policy; cmds: Cmd[] }[] = [
  {
    what: 'a message that became the head by a get never expired',
    policy: NONE,
    cmds: [
      { op: 'publish', persistent: true, expiration: undefined, pad: 0 },
      { op: 'consume', s: 0, prefetch: 0, noAck: false },
      { op: 'publish', persistent: true, expiration: 1, pad: 0 },
      { op: 'publish', persistent: true, expiration: 0, pad: 0 },
      { op: 'restart' },
      { op: 'get', s: 0, noAck: false },
      { op: 'close', s: 0 },
    ],
  },
  {
    what: 'a message that became the head by drop-head never expired',
    policy: { ...NONE, maxLengthBytes: 7 },
    cmds: [
      { op: 'publish', persistent: true, expiration: undefined, pad: 0 },
      { op: 'publish', persistent: true, expiration: 1, pad: 0 },
      { op: 'restart' },
      { op: 'publish', persistent: false, expiration: undefined, pad: 2 },
      { op: 'close', s: 0 },
    ],
  },
];

for (const f of FOUND)
  void test(`failure policies, found: ${f.what}`, async (t) => {
    await replayFailurePolicies(t, f.policy, f.cmds);
  });
