/**
 * Child process for journal-crash.test.ts: recovers the journal in argv[2], then appends
 * enqueues as fast as it can until it is SIGKILLed. stdout protocol, one line each:
 *   ready                 recovery done, load starts
 *   C <id>                every id up to <id> of this run is durable (afterSync fired)
 *   s <id>,<id>,...       settles about to be appended (queue 1)
 *   S <id>,<id>,...       those settles are durable
 * Ids are the message bodies and queue 1's seqs; ids divisible by 11 also go to queue 2.
 */
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { StoredMessage } from '../../src/store/store.js';

const [dir, startArg, seedArg] = process.argv.slice(2);
const SEGMENT = 16 * 1024;

function out(line: string): void {
  // Pipes are synchronous on Linux: a printed line is in the parent's pipe before a SIGKILL.
  process.stdout.write(`${line}\n`);
}

function message(id: number): StoredMessage {
  const body = Buffer.from(`${id}:`.padEnd(20 + (id % 200), '#'));
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

async function main(): Promise<void> {
  let seed = Number(seedArg) >>> 0;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const store = await JournalStore.open({ dir: dir!, segmentSize: SEGMENT });
  const recovered: { id: number; m: StoredMessage }[] = [];
  let hasDefinition = false;
  await store.recover({
    definition: (key) => (hasDefinition ||= key === 'queue:/:crash'),
    message: (r) => {
      if (r.queueId === 1) recovered.push({ id: r.seq, m: r.message });
    },
  });
  if (!hasDefinition) store.putDefinition('queue:/:crash', { name: 'crash', durable: true });
  out('ready');
  // Settle a fifth of what survived the last crash: settles that refer to older segments.
  settle(
    store,
    recovered.filter((r) => r.id % 5 === 0),
  );

  let next = Number(startArg);
  let outstanding = 0;
  const pump = (): void => {
    if (outstanding < 2000) {
      const n = 1 + Math.floor(rand() * 20);
      const batch: { id: number; m: StoredMessage }[] = [];
      for (let i = 0; i < n; i++) {
        const id = next++;
        const m = message(id);
        if (id % 11 === 0) store.enqueue(m, [1, 2], [id, id]);
        else store.enqueue(m, [1], [id]);
        batch.push({ id, m });
      }
      outstanding += n;
      const last = next - 1;
      store.afterSync((err) => {
        if (err !== undefined) throw err;
        outstanding -= n;
        out(`C ${last}`);
        settle(
          store,
          batch.filter((b) => b.id % 3 === 0),
        );
      });
    }
    setImmediate(pump);
  };
  pump();
}

function settle(store: JournalStore, items: { id: number; m: StoredMessage }[]): void {
  if (items.length === 0) return;
  const ids = items.map((i) => i.id).join(',');
  out(`s ${ids}`);
  for (const i of items) store.settle(1, i.id, i.m);
  store.afterSync((err) => {
    if (err !== undefined) throw err;
    out(`S ${ids}`);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
