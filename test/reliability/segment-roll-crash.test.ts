// Reliability plan A3: SIGKILL at the moment a new segment file appears (a roll), also followed
// by a power cut, and while compaction removes segments that consumers' acks emptied.
// lost=0, unexpected=0, duplicates only with redelivered=true.
//
// Env: BATON_CRASH_POINT_CYCLES (default 4), BATON_CRASH_POINT_SEED.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { missing } from './broker.js';
import { report, type CheckResult } from './checker.js';
import { crashPointRun } from './crash-points.js';
import { loopUnavailable } from './fs-tools.js';

const cycles = Number(process.env.BATON_CRASH_POINT_CYCLES ?? 4);
const seed = () =>
  process.env.BATON_CRASH_POINT_SEED !== undefined
    ? Number(process.env.BATON_CRASH_POINT_SEED)
    : randomInt(2 ** 31);

function assertHeld(result: CheckResult, s: number): void {
  assert.ok(result.confirmed > 0, 'something was confirmed');
  assert.deepEqual(result.lostIds, [], `lost confirmed messages (seed ${s})`);
  assert.deepEqual(result.unexpectedIds, [], `unexpected deliveries (seed ${s})`);
  assert.equal(result.nackButDelivered, 0, `nacked but delivered (seed ${s})`);
  assert.deepEqual(
    result.duplicatedWithoutRedeliveredIds,
    [],
    `duplicates without redelivered=true (seed ${s})`,
  );
}

void test('A3 SIGKILL at segment roll', async (t) => {
  const s = seed();
  const { result, extra } = await crashPointRun(t, {
    cycles,
    seed: s,
    trigger: 'roll',
    segmentSize: 65536,
  });
  report('A3 kill at roll', result, extra);
  assertHeld(result, s);
  assert.ok((extra.triggered as number) > 0, 'at least one kill landed at a roll');
});

void test('A3 power cut at segment roll: no redelivered=false duplicates', async (t) => {
  if (missing(t, loopUnavailable())) return;
  const s = seed();
  const { result, extra } = await crashPointRun(t, {
    cycles,
    seed: s,
    trigger: 'roll',
    powerCut: true,
    segmentSize: 262144,
  });
  report('A3 power cut at roll', result, extra);
  assertHeld(result, s);
});

void test('A3 SIGKILL during compaction (tiny segments, consumers acking)', async (t) => {
  const s = seed();
  const { result, extra } = await crashPointRun(t, {
    cycles,
    seed: s,
    trigger: 'compaction',
    segmentSize: 65536,
  });
  report('A3 kill at compaction', result, extra);
  assertHeld(result, s);
  assert.ok((extra.triggered as number) > 0, 'at least one kill landed at a segment removal');
});
