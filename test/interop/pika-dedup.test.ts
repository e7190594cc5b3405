// pika (python3-pika) with message deduplication through Baton: confirmed duplicates on a queue
// and an exchange, neither enqueued nor returned. A missing module skips, or fails under
// BATON_REQUIRE_ALL=1.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startBroker } from '../helpers/server.js';

const PYTHON = '/usr/bin/python3';
const scriptDir = fileURLToPath(new URL('../../../test/interop/', import.meta.url));

void test('pika with confirms: duplicates are acked, not enqueued (queue) and not routed (exchange)', async (t) => {
  const r = spawnSync(PYTHON, ['-c', 'import pika'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    const reason = `python3-pika not installed (apt-get install python3-pika)`;
    if (process.env.BATON_REQUIRE_ALL === '1')
      assert.fail(`required capability missing: ${reason}`);
    t.skip(`skipped: ${reason}`);
    return;
  }
  const { port } = await startBroker(t);
  const out = await new Promise<unknown[]>((resolve, reject) => {
    const child = execFile(
      PYTHON,
      [`${scriptDir}pika_dedup.py`, String(port)],
      { cwd: scriptDir, timeout: 20000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`pika_dedup.py failed: ${err.message}\n${stdout}\n${stderr}`));
        else
          resolve(
            stdout
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l) as unknown),
          );
      },
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
  });
  assert.deepEqual(out, [{ queue: 2 }, { exchange: ['x1'] }]);
});
