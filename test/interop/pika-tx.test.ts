// AMQP transactions through pika's BlockingChannel (python3-pika, /usr/bin/python3): the cases
// of test/interop/pika_tx.py, written after pika's own tx acceptance tests. A missing pika
// skips, or fails under BATON_REQUIRE_ALL=1.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startBroker } from '../helpers/server.js';

const PYTHON = '/usr/bin/python3';
const scriptDir = fileURLToPath(new URL('../../../test/interop/', import.meta.url));

const pikaMissing = ((): string | undefined => {
  const r = spawnSync(PYTHON, ['-c', 'import pika'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`;
  return undefined;
})();

const PRECONDITION = 406;

void test('pika: tx_select, tx_commit, tx_rollback behave as on RabbitMQ', async (t) => {
  if (pikaMissing !== undefined) {
    const reason = `python3-pika not installed: ${pikaMissing} (apt-get install python3-pika)`;
    if (process.env.BATON_REQUIRE_ALL === '1')
      assert.fail(`required capability missing: ${reason}`);
    t.skip(`skipped: ${reason}`);
    return;
  }
  const { port } = await startBroker(t);
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      PYTHON,
      [`${scriptDir}pika_tx.py`, String(port)],
      { cwd: scriptDir, timeout: 30000 },
      (err, out, stderr) =>
        err ? reject(new Error(`pika_tx.py: ${err.message}\n${out}\n${stderr}`)) : resolve(out),
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
  });
  const lines = stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
  const notTx = [PRECONDITION, 'PRECONDITION_FAILED - channel is not transactional'];
  assert.deepEqual(lines, [
    { case: 'select', reply: 'Tx.SelectOk' },
    { case: 'commit', before: 0, after: 3, reply: 'Tx.CommitOk' },
    { case: 'rollback', after: 3, reply: 'Tx.RollbackOk' },
    { case: 'ack rolled back', 'ready while held': 2, 'same message': true, redelivered: true },
    { case: 'consume and commit', got: ['m1', 'm2'], left: 0 },
    { case: 'consume-process-produce', 'before commit': [0, 0], 'after commit': [0, 1] },
    { case: 'reject to dlx', before: 0, after: 1 },
    { case: 'mandatory returned at commit', returned: ['bounced'] },
    { case: 'commit without select', error: notTx },
    { case: 'rollback without select', error: notTx },
    {
      case: 'tx on a confirm channel',
      error: [PRECONDITION, 'PRECONDITION_FAILED - cannot switch from confirm to tx mode'],
    },
    {
      case: 'confirm on a tx channel',
      error: [PRECONDITION, 'PRECONDITION_FAILED - cannot switch from tx to confirm mode'],
    },
    { case: 'close rolls back', left: 0 },
  ]);
});
