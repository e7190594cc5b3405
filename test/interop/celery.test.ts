// Celery (python3-celery) task priorities on Baton, unchanged: a queue with x-max-priority
// from task_queues/queue_arguments, tasks sent with apply_async(priority=...) before a worker
// runs, one worker (solo pool, concurrency 1, acks late, prefetch multiplier 1) started as a
// subprocess by the script. A missing module skips, or fails under BATON_REQUIRE_ALL=1.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startBroker } from '../helpers/server.js';

const PYTHON = '/usr/bin/python3';
const scriptDir = fileURLToPath(new URL('../../../test/interop/', import.meta.url));

function missing(module: string): string | undefined {
  const r = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`;
  return undefined;
}

interface Outcome {
  sent: [string, number][];
  ran: string[];
  worker_stderr: string;
}

void test('Celery: apply_async(priority=...) on an x-max-priority queue runs higher priorities first', async (t) => {
  const why = missing('celery');
  if (why !== undefined) {
    const reason = `python3-celery not installed: ${why} (apt-get install python3-celery)`;
    if (process.env.BATON_REQUIRE_ALL === '1')
      assert.fail(`required capability missing: ${reason}`);
    process.stderr.write(`\n*** skipped: ${reason} ***\n`);
    t.skip(`skipped: ${reason}`);
    return;
  }
  const { port } = await startBroker(t);
  const work = mkdtempSync(join(tmpdir(), 'baton-celery-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const out = await new Promise<string>((resolve, reject) => {
    // The script terminates its worker itself; the timeout and the kill below are the backstop.
    const child = execFile(
      PYTHON,
      [`${scriptDir}celery_priority.py`, String(port), work],
      { cwd: scriptDir, timeout: 90000, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`celery_priority.py failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as Outcome;
  const want = r.sent
    .map(([label, p], i) => ({ label, p, i }))
    .sort((a, b) => b.p - a.p || a.i - b.i)
    .map((x) => x.label);
  assert.deepEqual(r.ran, [...want, 'last'], r.worker_stderr);
});
