// Reliability plan A1 over AMQP: kill -9 the broker under load with publisher confirms, restart
// it on the same data dir, repeat, then drain and check the history Jepsen-style
// (docs: reliability.md §6 A1 and §7). The history is written by this process only: the
// producer child reports invokes and confirms on stdout, the consumer here logs each delivery
// before acking it.
//
// Env: BATON_CRASH_CYCLES (default 10) kills per run; BATON_CRASH_SEED replays a run.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/core.js';
import { killBroker, spawnBroker } from '../helpers/server.js';
import { check, report } from '../reliability/checker.js';
import { drain, prng, sleep, startConsumer, startProducer } from '../reliability/harness.js';
import { History } from '../reliability/history.js';

const QUEUE = 'crash-q';
const PRODUCER = 'p';

void test('A1 over AMQP: SIGKILL the broker under confirmed load, restart, repeat; no confirmed message lost', async (t) => {
  const cycles = Number(process.env.BATON_CRASH_CYCLES ?? 10);
  const seed =
    process.env.BATON_CRASH_SEED !== undefined
      ? Number(process.env.BATON_CRASH_SEED)
      : randomInt(2 ** 31);
  const rand = prng(seed);
  t.diagnostic(`seed ${seed} (replay with BATON_CRASH_SEED=${seed}), cycles ${cycles}`);
  const dataDir = tempDir(t, 'baton-crash-');
  // Not under tempDir: that one may be removed before the hook below has closed the history.
  const historyDir = mkdtempSync(join(tmpdir(), 'baton-crash-history-'));
  const history = new History(join(historyDir, 'history.jsonl'));
  /** Milliseconds from spawn to the AMQP port being open, per (re)start. */
  const restarts: number[] = [];

  const boot = async () => {
    const started = Date.now();
    // 1 MiB segments roll often; 16 MiB ones are extended to full size when created
    // (group-commit.ts), so a kill leaves a zero tail for recovery to cut. Both, mixed.
    const segmentSize = rand() < 0.5 ? 1024 * 1024 : 16 * 1024 * 1024;
    const b = await spawnBroker(t, dataDir, ['--segment-size', String(segmentSize)]);
    restarts.push(Date.now() - started);
    history.nemesis('start', b.port);
    return b;
  };
  const produce = (url: string) =>
    startProducer(
      t,
      { url, queue: QUEUE, name: PRODUCER, firstSeq: history.maxInvoked(PRODUCER) + 1 },
      history,
    );

  let failed = true;
  t.after(async () => {
    try {
      await history.close();
      if (failed) {
        const keep = join(tmpdir(), `baton-crash-${seed}.jsonl`);
        copyFileSync(history.file!, keep);
        process.stderr.write(`\namqp-kill: FAILED with seed ${seed}; history kept in ${keep}\n`);
      }
    } finally {
      rmSync(historyDir, { recursive: true, force: true });
    }
  });

  let broker = await boot();
  const kills: Array<{ afterMs: number; consumer: boolean; producerExit: string }> = [];
  for (let cycle = 0; cycle < cycles; cycle++) {
    const withConsumer = cycle === 0 || rand() < 0.6;
    const consumer = withConsumer
      ? await startConsumer(t, broker.url, history, { queue: QUEUE })
      : undefined;
    const producer = produce(broker.url);
    await producer.ready;
    const delay = 200 + Math.floor(rand() * 1300);
    await sleep(delay);
    history.nemesis('kill', cycle);
    await killBroker(broker.child);
    const producerExit = await producer.done;
    if (consumer) await Promise.race([consumer.closed, sleep(5000)]);
    kills.push({ afterMs: delay, consumer: withConsumer, producerExit });
    broker = await boot();
  }

  // Final phase: no more faults. Publish a little more, stop the producer cleanly, then drain.
  const producer = produce(broker.url);
  assert.equal(await producer.ready, true, 'producer connects to the final broker');
  await sleep(300);
  producer.stop();
  const finalExit = await producer.done;
  assert.equal(finalExit, 'closed stopped', 'the final producer stops cleanly');
  const { unseen } = await drain(t, broker.url, history, QUEUE);

  const result = check(history.events, unseen);
  const extra = {
    seed,
    cycles,
    kills: kills.length,
    restartMs: restarts,
    producerExits: [...new Set(kills.map((k) => k.producerExit.replace(/\d+/g, 'N')))],
  };
  report('A1 amqp-kill', result, extra);

  assert.equal(kills.length, cycles);
  assert.ok(result.confirmed > 0, 'something was confirmed');
  assert.deepEqual(result.lostIds, [], `lost confirmed messages (seed ${seed})`);
  assert.deepEqual(result.unexpectedIds, [], `unexpected deliveries (seed ${seed})`);
  assert.equal(result.nackButDelivered, 0, `nacked but delivered (seed ${seed})`);
  assert.deepEqual(
    result.duplicatedWithoutRedeliveredIds,
    [],
    `duplicates without redelivered=true (seed ${seed})`,
  );
  assert.deepEqual(
    result.inversionSamples,
    [],
    `first-time deliveries out of order (seed ${seed})`,
  );
  assert.equal(result.valid, true);
  failed = false;
});
