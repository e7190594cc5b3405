/**
 * SIGKILL a writer of atomic commits at random moments, again and again on the same
 * directory, and check after each kill that every commit is there wholly or not at all: its
 * messages all present or all gone (commit k settles commit k-2's), the applied commits a
 * prefix of those attempted, every confirmed one applied, and the drop commit at startup
 * (settling everything found) applied whole too. Segments are tiny, so commits meet segment
 * rolls all the time. BATON_CRASH_SEED=<n> replays a run; BATON_CRASH_CYCLES sets the kills
 * (default 10; `npm run reliability` runs 200).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { prng, recoverAll, seedFromEnv, tempDir } from '../store/helpers.js';

const CHILD = fileURLToPath(new URL('./commit-child.js', import.meta.url));
const KILLS = Number(process.env.BATON_CRASH_CYCLES ?? 10);
const RUN_IDS = 1_000_000;

interface RunLog {
  confirmed: number;
  dropDurable: boolean;
  stderr: string;
  signal: NodeJS.Signals | null;
}

function runChild(dir: string, start: number, seed: number, killAfterMs: number): Promise<RunLog> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(start), String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: RunLog = { confirmed: start - 1, dropDurable: false, stderr: '', signal: null };
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
        else if (line === 'D') log.dropDurable = true;
        else if (line.startsWith('C '))
          log.confirmed = Math.max(log.confirmed, Number(line.slice(2)));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (log.stderr += chunk));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(safety);
      if (timer !== undefined) clearTimeout(timer);
      log.signal = signal;
      resolve(log);
    });
  });
}

/** Commit id -> [messages of it found in queue 1, the size it was written with]. */
function byCommit(q1: { seq: number; body: string | undefined }[]): Map<number, [number, number]> {
  const found = new Map<number, [number, number]>();
  for (const e of q1) {
    const [k, j, n] = e.body!.split(':').map(Number) as [number, number, number];
    assert.equal(e.seq, k * 16 + j, `body of seq ${e.seq}`);
    const f = found.get(k) ?? [0, n];
    f[0]++;
    found.set(k, f);
  }
  return found;
}

void it(`atomic commits survive ${KILLS} SIGKILLs whole or not at all`, async (t) => {
  const dir = tempDir(t, 'baton-commit-crash-');
  const seed = seedFromEnv('BATON_CRASH_SEED');
  const rand = prng(seed);
  const ctx = `seed ${seed} (BATON_CRASH_SEED)`;
  /** Commits found after the previous run (the next run's drop commit settles them). */
  let before = new Map<number, [number, number]>();
  let totalConfirmed = 0;
  for (let run = 1; run <= KILLS; run++) {
    const start = run * RUN_IDS;
    const log = await runChild(
      dir,
      start,
      Math.floor(rand() * 2 ** 31),
      30 + Math.floor(rand() * 300),
    );
    assert.equal(log.signal, 'SIGKILL', `${ctx}: child run ${run} ended by itself:\n${log.stderr}`);
    totalConfirmed += log.confirmed - start + 1;

    const store = await JournalStore.open({ dir, segmentSize: 16 * 1024 });
    const r = await recoverAll(store);
    await store.close();
    const found = byCommit(r.byQueue.get(1) ?? []);
    const at = `${ctx}, after run ${run}`;
    for (const [k, [got, n]] of found)
      assert.equal(got, n, `${at}: commit ${k} is torn (${got} of ${n})`);
    // The drop commit: what the previous run left is all there or all gone.
    const old = [...before.keys()];
    const oldLeft = old.filter((k) => found.has(k));
    assert.ok(oldLeft.length === 0 || oldLeft.length === old.length, `${at}: drop commit torn`);
    if (log.dropDurable) assert.deepEqual(oldLeft, [], `${at}: durable drop commit lost`);
    // This run's commits: applied(k) = present(k) or applied(k + 2), a prefix of the run.
    const mine = [...found.keys()].filter((k) => k >= start);
    const top = Math.max(log.confirmed, ...mine);
    const applied = new Array<boolean>(top - start + 3).fill(false);
    for (let k = top; k >= start; k--) applied[k - start] = found.has(k) || applied[k - start + 2]!;
    let end = start;
    while (end <= top && applied[end - start]) end++;
    for (let k = end; k <= top; k++)
      assert.ok(!applied[k - start], `${at}: commit ${k} applied after a missing ${end}`);
    assert.ok(
      log.confirmed < end,
      `${at}: confirmed commit ${log.confirmed} lost (applied up to ${end - 1})`,
    );
    for (let k = start; k < end; k++) {
      assert.equal(
        found.has(k),
        !applied[k - start + 2],
        `${at}: commit ${k} vs its settling commit ${k + 2}`,
      );
    }
    for (const e of r.byQueue.get(2) ?? []) {
      assert.ok(
        found.has(Math.floor(e.seq / 16)),
        `${at}: queue 2 holds ${e.seq} without its commit`,
      );
    }
    if (found.size > 0) assert.ok(r.stats.records > 0);
    before = found;
  }
  assert.ok(totalConfirmed > 0, `${ctx}: the child confirmed nothing`);
  t.diagnostic(`${ctx}: ${totalConfirmed} commits confirmed over ${KILLS} kills`);
});
