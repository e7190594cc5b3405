// Reliability plan B4: a real full disk. The data dir is on a 32 MiB tmpfs, pre-filled with a
// filler file to a few MiB free, and publishers fill the rest with confirms on. While it is
// full: publishers see connection.blocked (amqplib's 'blocked' event), confirms stop, a consumer
// keeps draining and acking. After `rm filler`: confirms resume without a restart. Then
// SIGKILL and restart: lost=0, nothing nacked delivered, and the acks made while the disk was
// full survive (those messages are not redelivered).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { launch, missing, supportsFlag } from './broker.js';
import { check, report } from './checker.js';
import { mountTmpfs, tmpfsUnavailable } from './fs-tools.js';
import { drain, sleep, startConsumer, startProducer, waitFor } from './harness.js';
import { History } from './history.js';

const QUEUE = 'full-q';

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

void test('B4 disk full on tmpfs: blocked, no confirm without data, consumers drain, resumes after rm filler', async (t) => {
  if (missing(t, tmpfsUnavailable())) return;
  const work = mkdtempSync(join(tmpdir(), 'baton-diskfull-'));
  const mnt = join(work, 'mnt');
  mountTmpfs(t, mnt, 32);
  // Registered after the mount, so it runs after the unmount.
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const dataDir = join(mnt, 'data');
  // The real ENOSPC, not the disk alarm, is under test here (flag added with the disk alarm).
  const args = ['--segment-size', '1048576'];
  if (supportsFlag('--disk-free-limit')) args.push('--disk-free-limit', '0');
  const history = new History();
  let broker = await launch(t, dataDir, { args });

  const filler = join(mnt, 'filler');
  execFileSync('fallocate', ['-l', String(freeBytes(mnt) - 3 * 1024 * 1024), filler]);
  const producer = startProducer(
    t,
    { url: broker.url, queue: QUEUE, name: 'p', firstSeq: 1, bodySize: 2000 },
    history,
  );
  assert.equal(await producer.ready, true);
  // Nacks are not the contract (the journal keeps and retries the batch): stop waiting early.
  const blocked =
    (await waitFor(() => producer.blocked > 0 || producer.nacked > 1000, 15000)) &&
    producer.blocked > 0;
  const freeAtBlock = freeBytes(mnt);
  // Confirms must stop while full: wait until no confirm arrived for a second.
  let last = -1;
  await waitFor(
    () => {
      const c = producer.confirmed;
      const still = c === last;
      last = c;
      return still;
    },
    20000,
    1000,
  );
  const confirmedWhileFull = producer.confirmed;
  assert.ok(broker.alive(), `the broker stays up on ENOSPC: ${broker.output()}`);

  // A consumer drains while the disk is full; its acks cannot be written yet.
  const consumer = await startConsumer(t, broker.url, history, { queue: QUEUE, proc: 'full' });
  assert.ok(consumer);
  const drained = await waitFor(() => consumer.acked.length >= 100, 20000);
  await sleep(500);
  const ackedWhileFull = new Set(consumer.acked);
  const confirmsDuringFull = producer.confirmed - confirmedWhileFull;

  rmSync(filler);
  const resumed = await waitFor(() => producer.confirmed > confirmedWhileFull + 100, 15000);
  const unblocked = producer.unblocked > 0;
  const freeAtResume = freeBytes(mnt);
  producer.stop();
  const producerExit = await producer.done;
  await consumer.close();
  // Give the journal a moment to write the kept acks, then crash it.
  await sleep(1000);
  const peakRssMiB = broker.peakRssMiB();
  await broker.kill('SIGKILL');
  broker = await launch(t, dataDir, { args });
  const { unseen } = await drain(t, broker.url, history, QUEUE);
  await broker.kill('SIGTERM');
  const redeliveredAcked = history.events.filter(
    (e) => e.f === 'deliver' && e.proc === 'drain' && ackedWhileFull.has(e.id),
  ).length;
  const result = check(history.events, unseen);
  const ok = result.valid && blocked && drained && resumed && redeliveredAcked === 0;
  report(
    'B4 disk full',
    result,
    {
      blockedSeen: blocked,
      unblockedSeen: unblocked,
      freeAtBlock,
      freeAtResume,
      confirmsAfterFullSettled: confirmsDuringFull,
      ackedWhileFull: ackedWhileFull.size,
      ackedWhileFullRedelivered: redeliveredAcked,
      resumedWithoutRestart: resumed,
      producerExit,
      peakRssMiB,
    },
    ok,
  );
  assert.ok(blocked, 'publishers see connection.blocked when the disk is full');
  assert.ok(drained, 'the consumer keeps draining while the disk is full');
  assert.ok(resumed, 'confirms resume after rm filler, without a restart');
  assert.deepEqual(result.lostIds, [], 'lost');
  assert.equal(result.nackButDelivered, 0, 'nacked but delivered');
  assert.deepEqual(result.unexpectedIds, [], 'unexpected');
  assert.equal(result.duplicatedWithoutRedelivered, 0);
  assert.equal(redeliveredAcked, 0, 'acks made while the disk was full survive the restart');
});
