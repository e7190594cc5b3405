/**
 * SIGKILL a journal writer that records failure counts (as the core does for a message that
 * came back from a consumer) while enqueueing, settling and compacting, again and again on the
 * same directory. After each kill every count that was synced is there, no count is above one
 * ever attempted, and no recovered count is lower than the one recovered before: a poison
 * message's count only grows across restarts. Seeded: BATON_CRASH_SEED=<n> replays a run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { prng, recoverAll, seedFromEnv, tempDir } from '../store/helpers.js';

const CHILD = fileURLToPath(new URL('./failures-child.js', import.meta.url));
const KILLS = 8;
const RUN_IDS = 1_000_000;

interface RunLog {
  confirmed: number;
  attempted: Map<number, number>;
  synced: Map<number, number>;
  settling: Set<number>;
  /** The child's compactions and deleted segments so far. */
  compactions: number;
  deleted: number;
  stderr: string;
  signal: NodeJS.Signals | null;
}

function pair(s: string): [number, number] {
  const [seq, n] = s.split(':');
  return [Number(seq), Number(n)];
}

function raise(map: Map<number, number>, seq: number, n: number): void {
  if (n > (map.get(seq) ?? 0)) map.set(seq, n);
}

function runChild(dir: string, startId: number, seed: number, killAfterMs: number) {
  return new Promise<RunLog>((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(startId), String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: RunLog = {
      confirmed: startId - 1,
      attempted: new Map(),
      synced: new Map(),
      settling: new Set(),
      compactions: 0,
      deleted: 0,
      stderr: '',
      signal: null,
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
        else if (line.startsWith('C ')) log.confirmed = Number(line.slice(2));
        else if (line.startsWith('f ')) raise(log.attempted, ...pair(line.slice(2)));
        else if (line.startsWith('F '))
          for (const p of line.slice(2).split(',')) raise(log.synced, ...pair(p));
        else if (line.startsWith('s ')) log.settling.add(Number(line.slice(2)));
        else if (line.startsWith('K ')) [log.compactions, log.deleted] = pair(line.slice(2));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (log.stderr += chunk));
    child.on('error', reject);
    // 'close', not 'exit': at 'exit' the last lines may still sit unread in the pipe, and a
    // count recorded in them would look like one never attempted.
    child.on('close', (_code, signal) => {
      clearTimeout(safety);
      if (timer !== undefined) clearTimeout(timer);
      log.signal = signal;
      resolve(log);
    });
  });
}

void it(`failure counts survive ${KILLS} SIGKILLs mid-load: every synced count is there and counts only grow`, async (t) => {
  const dir = tempDir(t, 'baton-failures-crash-');
  const seed = seedFromEnv('BATON_CRASH_SEED');
  const rand = prng(seed);
  const ctx = `seed ${seed} (BATON_CRASH_SEED)`;
  const attempted = new Map<number, number>();
  const synced = new Map<number, number>();
  const settling = new Set<number>();
  /** Long-lived ids confirmed so far (each must stay until it is settled). */
  const longLived = new Set<number>();
  let previous = new Map<number, number>();
  let syncedCounts = 0;
  let compactions = 0;
  let deleted = 0;
  for (let run = 1; run <= KILLS; run++) {
    const startId = run * RUN_IDS;
    const delay = 100 + Math.floor(rand() * 500);
    const log = await runChild(dir, startId, Math.floor(rand() * 2 ** 31), delay);
    assert.equal(log.signal, 'SIGKILL', `${ctx}: child run ${run} ended by itself:\n${log.stderr}`);
    for (const [seq, n] of log.attempted) raise(attempted, seq, n);
    for (const [seq, n] of log.synced) raise(synced, seq, n);
    for (const seq of log.settling) settling.add(seq);
    for (let id = startId; id <= log.confirmed; id++) if (id % 8 === 0) longLived.add(id);
    syncedCounts += log.synced.size;
    compactions += log.compactions;
    deleted += log.deleted;

    const store = await JournalStore.open({ dir, segmentSize: 16 * 1024 });
    const r = await recoverAll(store);
    await store.close();
    const now = Date.now();
    const seen = new Map<number, number>();
    for (const m of r.messages) {
      assert.equal(m.queueId, 1, ctx);
      const f = m.failures;
      const at = `${ctx}: seq ${m.seq} after run ${run}`;
      assert.ok(f <= (attempted.get(m.seq) ?? 0), `${at}: count ${f} was never recorded`);
      assert.ok(f >= (synced.get(m.seq) ?? 0), `${at}: synced count ${synced.get(m.seq)} lost`);
      assert.ok(
        f >= (previous.get(m.seq) ?? 0),
        `${at}: count went down from ${previous.get(m.seq)}`,
      );
      const ts = m.message.timestamp;
      assert.ok(ts > 1_600_000_000_000 && ts <= now, `${at}: timestamp ${ts}`);
      seen.set(m.seq, f);
    }
    for (const id of longLived) {
      if (!settling.has(id))
        assert.ok(seen.has(id), `${ctx}: long-lived ${id} lost after run ${run}`);
    }
    previous = seen;
  }
  assert.ok(syncedCounts > 0, `${ctx}: no count was ever synced`);
  t.diagnostic(
    `${ctx}: ${synced.size} messages with synced counts, ${settling.size} settled at the ` +
      `limit; the children compacted ${compactions} segments and deleted ${deleted}`,
  );
});
