// Reliability plan A2: power cuts on a loop-mounted ext4 image (see power-cut.ts). The second
// test is the mutation check of §7.5: with the test-only switch that confirms before fdatasync,
// the same run must report lost > 0, which proves this harness can see a loss.
//
// Env: BATON_POWER_CUT_CYCLES (default 5), BATON_POWER_CUT_SEED replays a run.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { missing } from './broker.js';
import { report } from './checker.js';
import { loopUnavailable } from './fs-tools.js';
import { powerCutRun } from './power-cut.js';

const cycles = Number(process.env.BATON_POWER_CUT_CYCLES ?? 5);
const seed = () =>
  process.env.BATON_POWER_CUT_SEED !== undefined
    ? Number(process.env.BATON_POWER_CUT_SEED)
    : randomInt(2 ** 31);

void test('A2 power cut: SIGKILL + image copy under confirmed load; no confirmed message lost', async (t) => {
  if (missing(t, loopUnavailable())) return;
  const s = seed();
  t.diagnostic(`seed ${s} (replay with BATON_POWER_CUT_SEED=${s}), cycles ${cycles}`);
  const { result, extra } = await powerCutRun(t, { cycles, seed: s });
  report('A2 power-cut', result, extra);
  assert.ok(result.confirmed > 0, 'something was confirmed');
  assert.deepEqual(result.lostIds, [], `lost confirmed messages (seed ${s})`);
  assert.deepEqual(result.unexpectedIds, [], `unexpected deliveries (seed ${s})`);
  assert.equal(result.nackButDelivered, 0, `nacked but delivered (seed ${s})`);
  assert.deepEqual(
    result.duplicatedWithoutRedeliveredIds,
    [],
    `duplicates without redelivered=true (seed ${s})`,
  );
  assert.equal(result.unseen, false, 'the drain saw every confirmed id');
});

void test('A2 mutation check: confirming before fdatasync must show up as lost > 0', async (t) => {
  if (missing(t, loopUnavailable())) return;
  const s = seed();
  // 64 MiB segments: with tiny ones the unsafe journal's directory fsync at every roll keeps
  // most data, and a cut often leaves unsynced garbage before a later batch, which recovery
  // rightly refuses as corruption instead of showing the loss.
  let run;
  try {
    run = await powerCutRun(t, {
      cycles: Math.min(cycles, 3),
      seed: s,
      env: { BATON_TEST_CONFIRM_BEFORE_FSYNC: '1' },
      segmentSize: 64 * 1024 * 1024,
    });
  } catch (err) {
    // A refused start is the harness seeing the damage too, just not as a count.
    const msg = (err as Error).message;
    t.diagnostic(`mutation run: broker refused to start after a cut: ${msg.slice(0, 300)}`);
    assert.match(msg, /corrupt/i, 'only a corruption refusal counts as detection');
    return;
  }
  const { result, extra } = run;
  report('A2 power-cut mutation (must fail)', result, extra, result.lost > 0);
  assert.ok(
    result.lost > 0,
    `with BATON_TEST_CONFIRM_BEFORE_FSYNC=1 the checker must report lost > 0 (got ${result.lost} of ${result.confirmed} confirmed)`,
  );
});
