/**
 * Child process for failures-crash.test.ts: recovers the journal in argv[2], then appends
 * enqueues and failure counts as fast as it can until it is SIGKILLed. Queue 1 only. Ids
 * divisible by 8 are long-lived: they collect failure counts (one more at a time, a few per
 * turn, some inside a commit) and are settled once they reach LIMIT (as a delivery limit
 * would dead-letter them); the others are settled once confirmed, so old segments empty and
 * get compacted under the long-lived ones. stdout protocol, one line each:
 *   ready                 recovery done, load starts
 *   C <id>                every id up to <id> of this run is durable (afterSync fired)
 *   f <seq>:<n>           about to record count n for seq
 *   F <seq>:<n>,...       those counts are durable
 *   s <seq>               about to settle seq (a long-lived one)
 *   K <c>:<d>             compactions and deleted segments so far
 */
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { StoredMessage } from '../../src/store/store.js';

const [dir, startArg, seedArg] = process.argv.slice(2);
const SEGMENT = 16 * 1024;
const LIMIT = 6;

function out(line: string): void {
  // Pipes are synchronous on Linux: a printed line is in the parent's pipe before a SIGKILL.
  process.stdout.write(`${line}\n`);
}

function message(id: number): StoredMessage {
  const body = Buffer.from(`${id}:`.padEnd(30 + (id % 100), '#'));
  return {
    exchange: '',
    routingKey: 'crash',
    properties: Buffer.alloc(0),
    body,
    bodySize: body.length,
    priority: 0,
    expiresAt: 0,
    timestamp: Date.now(),
    location: undefined,
  };
}

interface Long {
  seq: number;
  m: StoredMessage;
  failures: number;
}

async function main(): Promise<void> {
  let seed = Number(seedArg) >>> 0;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const store = await JournalStore.open({ dir: dir!, segmentSize: SEGMENT });
  const pool: Long[] = [];
  await store.recover({
    definition: () => {},
    message: (r) => {
      if (r.queueId === 1) pool.push({ seq: r.seq, m: r.message, failures: r.failures });
    },
  });
  out('ready');
  let next = Number(startArg);
  let outstanding = 0;
  let turn = 0;
  const pump = (): void => {
    if (outstanding < 2000) {
      turn++;
      const n = 1 + Math.floor(rand() * 20);
      const batch: { id: number; m: StoredMessage }[] = [];
      for (let i = 0; i < n; i++) {
        const id = next++;
        const m = message(id);
        store.enqueue(m, [1], [id]);
        batch.push({ id, m });
      }
      const counted: string[] = [];
      for (let k = Math.floor(rand() * 4); k > 0 && pool.length > 0; k--) {
        const i = Math.floor(rand() * pool.length);
        const e = pool[i]!;
        const f = ++e.failures;
        out(`f ${e.seq}:${f}`);
        if (turn % 5 === 0) store.commit([{ op: 'failures', queueId: 1, seq: e.seq, failures: f }]);
        else store.recordFailures(1, e.seq, f);
        counted.push(`${e.seq}:${f}`);
        if (f >= LIMIT) {
          out(`s ${e.seq}`);
          store.settle(1, e.seq, e.m);
          pool[i] = pool[pool.length - 1]!;
          pool.pop();
        }
      }
      outstanding += n;
      const last = next - 1;
      store.afterSync((err) => {
        if (err !== undefined) throw err;
        outstanding -= n;
        out(`C ${last}`);
        if (counted.length > 0) out(`F ${counted.join(',')}`);
        const st = store.stats();
        out(`K ${st.compactions}:${st.deletedSegments}`);
        for (const b of batch) {
          if (b.id % 8 === 0) pool.push({ seq: b.id, m: b.m, failures: 0 });
          else store.settle(1, b.id, b.m);
        }
      });
    }
    setImmediate(pump);
  };
  pump();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
