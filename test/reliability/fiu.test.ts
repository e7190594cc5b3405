// Reliability plan B5/B6 with libfiu (Debian fiu-utils): the broker child runs under
// `fiu-run -x` and failure points are switched on at runtime with `fiu-ctrl` once it is up.
//
// So that "no confirm after the error" is exact and free of timing, the first producer stops
// (all its publishes settled) before the point is enabled, and only a second producer 'q'
// publishes afterwards: every write or fdatasync covering q's messages meets the fault.
// (Node writes journal batches with pwrite64 and pwritev, and syncs with fdatasync: strace.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { launch, missing, type BrokerProcess } from './broker.js';
import { check, report } from './checker.js';
import { fiuUnavailable } from './fs-tools.js';
import { drain, sleep, startConsumer, startProducer, waitFor } from './harness.js';
import { History } from './history.js';

const QUEUE = 'fiu-q';
const ARGS = ['--segment-size', '1048576'];
const WRITES = ['posix/io/rw/pwrite', 'posix/io/rw/pwritev'];
const FSYNC = ['posix/io/sync/fdatasync'];

interface Setup {
  dir: string;
  fifo: string;
  history: History;
  broker: BrokerProcess;
}

/** A broker under fiu-run with a consumer, and 2 s of confirmed load by producer 'p'. */
async function setup(t: TestContext): Promise<Setup> {
  const work = mkdtempSync(join(tmpdir(), 'baton-fiu-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const dir = join(work, 'data');
  const fifo = join(work, 'fiu-ctrl');
  const history = new History();
  const broker = await launch(t, dir, { args: ARGS, wrapper: ['fiu-run', '-x', '-f', fifo] });
  await startConsumer(t, broker.url, history, { queue: QUEUE });
  const p = startProducer(
    t,
    { url: broker.url, queue: QUEUE, name: 'p', firstSeq: 1, bodySize: 300 },
    history,
  );
  assert.equal(await p.ready, true);
  await sleep(1500);
  p.stop();
  assert.equal(await p.done, 'closed stopped');
  assert.ok(p.confirmed > 0);
  return { dir, fifo, history, broker };
}

function fiu(s: Setup, command: 'enable' | 'disable', names: string[], errno?: number): void {
  for (const name of names) {
    const c =
      command === 'enable' ? `enable name=${name},failinfo=${errno ?? 5}` : `disable name=${name}`;
    execFileSync('fiu-ctrl', ['-f', s.fifo, '-c', c, String(s.broker.pid)]);
  }
  s.history.nemesis('fault', 0, `${command} ${names.join(' ')}`);
}

/** Fatal cases: inject, publish with 'q', expect exit 74 with no confirm and no nack for q. */
async function fatalCase(t: TestContext, label: string, names: string[]): Promise<void> {
  const s = await setup(t);
  fiu(s, 'enable', names, 5);
  const q = startProducer(
    t,
    { url: s.broker.url, queue: QUEUE, name: 'q', firstSeq: 1, bodySize: 300 },
    s.history,
  );
  // Nacks are not the contract: stop waiting early instead of nacking a million publishes.
  await waitFor(() => !s.broker.alive() || q.nacked > 1000, 20000);
  const exit = s.broker.alive() ? 'still running' : await s.broker.exited;
  await s.broker.kill();
  await q.done;
  const errors = s.broker.logsAtLeast('error');
  const named = errors.filter((l) => /\.seg/.test(JSON.stringify(l)));
  const b = await launch(t, s.dir, { args: ARGS });
  const { unseen } = await drain(t, b.url, s.history, QUEUE);
  await b.kill('SIGTERM');
  const result = check(s.history.events, unseen);
  const ok =
    result.valid && q.confirmed === 0 && q.nacked === 0 && exit === 74 && named.length >= 1;
  report(
    label,
    result,
    {
      exit,
      confirmedAfterFault: q.confirmed,
      nackedAfterFault: q.nacked,
      errorLines: errors.length,
      errorLinesNamingSegment: named.length,
    },
    ok,
  );
  assert.equal(q.confirmed, 0, 'no confirm for a publish whose batch met the fault');
  assert.equal(q.nacked, 0, 'no nack for the failed batch (its outcome is unknown)');
  assert.equal(exit, 74, `exits 74 (EX_IOERR): ${s.broker.output()}`);
  assert.ok(named.length >= 1, 'an error-level log line names the segment file');
  assert.deepEqual(result.lostIds, [], 'lost');
  assert.equal(result.nackButDelivered, 0);
  assert.deepEqual(result.unexpectedIds, [], 'unexpected');
  assert.equal(result.duplicatedWithoutRedelivered, 0);
}

void test('B5 fdatasync EIO (fiu): no confirm after the error, error log naming the segment, exit 74, nothing lost', async (t) => {
  if (missing(t, fiuUnavailable())) return;
  await fatalCase(t, 'B5 fdatasync EIO', FSYNC);
});

void test('B6 pwrite/pwritev EIO (fiu): fatal like fsync EIO', async (t) => {
  if (missing(t, fiuUnavailable())) return;
  await fatalCase(t, 'B6 pwritev EIO', WRITES);
});

void test('B6 pwrite/pwritev ENOSPC (fiu): publishers blocked, nothing confirmed or nacked while it lasts, resumes after disable', async (t) => {
  if (missing(t, fiuUnavailable())) return;
  const s = await setup(t);
  fiu(s, 'enable', WRITES, 28);
  const q = startProducer(
    t,
    { url: s.broker.url, queue: QUEUE, name: 'q', firstSeq: 1, bodySize: 300 },
    s.history,
  );
  assert.equal(await q.ready, true);
  const blocked =
    (await waitFor(() => q.blocked > 0 || q.nacked > 0 || q.confirmed > 0, 10000)) && q.blocked > 0;
  if (q.nacked === 0) await sleep(1000);
  const during = { confirmed: q.confirmed, nacked: q.nacked, alive: s.broker.alive() };
  fiu(s, 'disable', WRITES);
  const resumed = await waitFor(() => q.confirmed > 0, 15000);
  await sleep(500);
  q.stop();
  const qExit = await q.done;
  const alive = s.broker.alive();
  const { unseen } = alive ? await drain(t, s.broker.url, s.history, QUEUE) : { unseen: false };
  const result = check(s.history.events, unseen);
  const ok =
    result.valid &&
    during.alive &&
    during.confirmed === 0 &&
    during.nacked === 0 &&
    blocked &&
    resumed &&
    alive;
  report(
    'B6 pwritev ENOSPC',
    result,
    {
      blockedSeen: blocked,
      unblocked: q.unblocked,
      during,
      resumedWithoutRestart: resumed,
      brokerAlive: alive,
      qExit,
    },
    ok,
  );
  assert.equal(during.alive, true, `the broker survives ENOSPC: ${s.broker.output()}`);
  assert.equal(during.confirmed, 0, 'nothing confirmed while writes fail');
  assert.equal(during.nacked, 0, 'nothing nacked while writes fail (the batch is kept)');
  assert.ok(blocked, 'publishers see connection.blocked');
  assert.ok(resumed, 'confirms resume after the fault is disabled, without a restart');
  assert.equal(alive, true);
  assert.deepEqual(result.lostIds, [], 'lost');
  assert.equal(result.nackButDelivered, 0);
  assert.deepEqual(result.unexpectedIds, [], 'unexpected');
});
