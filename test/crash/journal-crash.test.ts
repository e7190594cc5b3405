/**
 * SIGKILL a journal writer at random moments, again and again on the same directory, and check
 * after each kill that every confirmed message is present exactly once and no durably settled
 * one came back. Seeded: BATON_CRASH_SEED=<n> replays a run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { prng, recoverAll, seedFromEnv, tempDir } from '../store/helpers.js';

const CHILD = fileURLToPath(new URL('./journal-child.js', import.meta.url));
const KILLS = 12;
const RUN_IDS = 1_000_000;

interface RunLog {
  confirmed: number[];
  settling: Set<number>;
  settled: Set<number>;
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
}

function runChild(
  dir: string,
  startId: number,
  seed: number,
  killAfterMs: number,
): Promise<RunLog> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(startId), String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: RunLog = {
      confirmed: [],
      settling: new Set(),
      settled: new Set(),
      stderr: '',
      signal: null,
      code: null,
    };
    let buffered = '';
    let timer: NodeJS.Timeout | undefined;
    const safety = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === 'ready') timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (line.startsWith('C ')) log.confirmed.push(Number(line.slice(2)));
        else if (line.startsWith('s '))
          for (const id of line.slice(2).split(',')) log.settling.add(Number(id));
        else if (line.startsWith('S '))
          for (const id of line.slice(2).split(',')) log.settled.add(Number(id));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (log.stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(safety);
      if (timer !== undefined) clearTimeout(timer);
      log.code = code;
      log.signal = signal;
      resolve(log);
    });
  });
}

void it(`journal survives ${KILLS} SIGKILLs with every confirmed message present exactly once`, async (t) => {
  const dir = tempDir(t, 'baton-crash-');
  const seed = seedFromEnv('BATON_CRASH_SEED');
  const rand = prng(seed);
  const ctx = `seed ${seed} (BATON_CRASH_SEED)`;
  /** Ids that must be present: confirmed (or recovered before) and never settled. */
  const mustHave = new Set<number>();
  const durablySettled = new Set<number>();
  const everSettling = new Set<number>();
  let attemptedUpTo = 0;
  let totalConfirmed = 0;
  for (let run = 1; run <= KILLS; run++) {
    const startId = run * RUN_IDS;
    const delay = 50 + Math.floor(rand() * 350);
    const log = await runChild(dir, startId, Math.floor(rand() * 2 ** 31), delay);
    assert.equal(log.signal, 'SIGKILL', `${ctx}: child run ${run} ended by itself:\n${log.stderr}`);
    const highest = log.confirmed.length > 0 ? Math.max(...log.confirmed) : startId - 1;
    for (let id = startId; id <= highest; id++) mustHave.add(id);
    totalConfirmed += highest - startId + 1;
    for (const id of log.settling) everSettling.add(id);
    for (const id of log.settled) durablySettled.add(id);
    for (const id of everSettling) mustHave.delete(id);
    attemptedUpTo = startId + RUN_IDS - 1;

    const store = await JournalStore.open({ dir, segmentSize: 16 * 1024 });
    const r = await recoverAll(store);
    await store.close();
    const q1 = r.byQueue.get(1) ?? [];
    const seen = new Set<number>();
    let prev = -1;
    for (const e of q1) {
      assert.ok(e.seq > prev, `${ctx}: queue 1 out of order at ${e.seq} after run ${run}`);
      prev = e.seq;
      assert.ok(!seen.has(e.seq), `${ctx}: id ${e.seq} recovered twice after run ${run}`);
      seen.add(e.seq);
      assert.ok(e.seq <= attemptedUpTo, `${ctx}: id ${e.seq} was never written`);
      assert.equal(e.body?.split(':')[0], String(e.seq), `${ctx}: body of ${e.seq}`);
      assert.ok(
        !durablySettled.has(e.seq),
        `${ctx}: settled id ${e.seq} came back after run ${run}`,
      );
    }
    for (const id of mustHave) {
      assert.ok(seen.has(id), `${ctx}: confirmed id ${id} lost after run ${run}`);
    }
    // Everything recovered now is on disk and stays until settled.
    for (const id of seen) if (!everSettling.has(id)) mustHave.add(id);
    for (const e of r.byQueue.get(2) ?? []) assert.equal(e.seq % 11, 0, ctx);
    assert.ok(r.definitions.has('queue:/:crash'), `${ctx}: definition lost after run ${run}`);
  }
  assert.ok(totalConfirmed > 0, `${ctx}: the child confirmed nothing`);
  t.diagnostic(`${ctx}: ${totalConfirmed} confirmed, ${durablySettled.size} durably settled`);
});
