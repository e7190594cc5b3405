// Reliability plan A5: crash during recovery. A data dir with ~30k live messages (some already
// consumed, so settles and watermarks are in the journal) and a torn tail on its newest segment
// is started and SIGKILLed 0-500 ms later, many times in a row (each time recovery may be cut
// anywhere, including while it moves the torn tail aside), then started cleanly and drained.
// Recovery must be idempotent: lost=0, unexpected=0, duplicates only with redelivered=true.
//
// Env: BATON_RECOVERY_KILLS (default 15), BATON_RECOVERY_SEED.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/core.js';
import { BrokerProcess, launch } from './broker.js';
import { check, report } from './checker.js';
import { drain, prng, sleep, startConsumer, startProducer, waitFor } from './harness.js';
import { History } from './history.js';
import { segmentNames } from './segments.js';

const QUEUE = 'recovery-q';
const ARGS = ['--segment-size', '1048576'];

void test('A5 SIGKILL 0-500 ms after (re)start, many times in a row, then a clean start: nothing lost', async (t) => {
  const kills = Number(process.env.BATON_RECOVERY_KILLS ?? 15);
  const seed =
    process.env.BATON_RECOVERY_SEED !== undefined
      ? Number(process.env.BATON_RECOVERY_SEED)
      : randomInt(2 ** 31);
  const rand = prng(seed);
  t.diagnostic(`seed ${seed}, kills ${kills}`);
  const dir = tempDir(t, 'baton-recovery-');
  const history = new History();

  const b = await launch(t, dir, { args: ARGS });
  const consumer = await startConsumer(t, b.url, history, { queue: QUEUE });
  const p = startProducer(
    t,
    { url: b.url, queue: QUEUE, name: 'p', firstSeq: 1, bodySize: 300 },
    history,
  );
  assert.equal(await p.ready, true);
  await sleep(500);
  await consumer?.close();
  assert.ok(await waitFor(() => p.confirmed >= 30000, 120000), 'load confirmed');
  await b.kill('SIGKILL');
  await p.done;
  const newest = segmentNames(dir).at(-1)!;
  appendFileSync(join(dir, newest), randomBytes(1000).fill(0xff, 0, 4));

  const outcomes: Array<{ afterMs: number; listened: boolean; exit: number | string }> = [];
  for (let i = 0; i < kills; i++) {
    const afterMs = Math.floor(rand() * 500);
    const victim = new BrokerProcess(t, dir, { args: ARGS });
    history.nemesis('start', i);
    await sleep(afterMs);
    const listened = victim.port !== 0;
    await victim.kill('SIGKILL');
    outcomes.push({ afterMs, listened, exit: await victim.exited });
  }
  const final = await launch(t, dir, { args: ARGS });
  const { unseen } = await drain(t, final.url, history, QUEUE);
  await final.kill('SIGTERM');
  const result = check(history.events, unseen);
  report('A5 recovery crash', result, {
    seed,
    kills,
    killedBeforeListening: outcomes.filter((o) => !o.listened).length,
    finalStartupMs: final.startupMs,
  });
  assert.deepEqual(result.lostIds, [], `lost (seed ${seed})`);
  assert.deepEqual(result.unexpectedIds, [], `unexpected (seed ${seed})`);
  assert.equal(result.nackButDelivered, 0);
  assert.deepEqual(
    result.duplicatedWithoutRedeliveredIds,
    [],
    `dups without redelivered (seed ${seed})`,
  );
  assert.equal(result.unseen, false);
});
