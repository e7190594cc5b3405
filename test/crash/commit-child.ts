/**
 * Child process for commit-crash.test.ts: recovers the journal in argv[2], drops what it found
 * in one commit, then appends commits as fast as it can until it is SIGKILLed. Commit k holds
 * 1-8 messages (seq k*16 + j, body "k:j:n", some also in queue 2), the settles of every
 * message of commit k-2 and a watermark; segments are tiny, so commits keep meeting rolls.
 * stdout protocol, one line each:
 *   ready        recovery done, the drop commit is appended
 *   D            the drop commit is durable
 *   C <k>        commit k is durable (afterSync fired)
 */
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { StoredMessage, StoreOp } from '../../src/store/store.js';

const [dir, startArg, seedArg] = process.argv.slice(2);
export const SEGMENT = 16 * 1024;

function out(line: string): void {
  // Pipes are synchronous on Linux: a printed line is in the parent's pipe before a SIGKILL.
  process.stdout.write(`${line}\n`);
}

function message(k: number, j: number, n: number, pad: number): StoredMessage {
  const body = Buffer.from(`${k}:${j}:${n}:`.padEnd(12 + pad, '#'));
  return {
    exchange: '',
    routingKey: 'commit',
    properties: Buffer.alloc(0),
    body,
    bodySize: body.length,
    priority: 0,
    expiresAt: 0,
    timestamp: Date.now(),
    location: undefined,
  };
}

interface Held {
  queues: number[];
  seqs: number[];
  m: StoredMessage;
}

async function main(): Promise<void> {
  let seed = Number(seedArg) >>> 0;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const store = await JournalStore.open({ dir: dir!, segmentSize: SEGMENT });
  const drop: StoreOp[] = [];
  await store.recover({
    definition: () => {},
    message: (r) => drop.push({ op: 'settle', queueId: r.queueId, seq: r.seq, message: r.message }),
  });
  store.commit(drop);
  out('ready');
  store.afterSync((err) => {
    if (err === undefined) out('D');
  });

  const held = new Map<number, Held[]>();
  let k = Number(startArg);
  let outstanding = 0;
  const pump = (): void => {
    if (outstanding < 200) {
      const id = k++;
      const n = 1 + Math.floor(rand() * 8);
      const ops: StoreOp[] = [];
      const mine: Held[] = [];
      for (let j = 0; j < n; j++) {
        const m = message(id, j, n, Math.floor(rand() * 1500));
        const seq = id * 16 + j;
        const h: Held =
          rand() < 0.2 ? { queues: [1, 2], seqs: [seq, seq], m } : { queues: [1], seqs: [seq], m };
        ops.push({ op: 'enqueue', message: m, queueIds: h.queues, seqs: h.seqs });
        mine.push(h);
      }
      for (const h of held.get(id - 2) ?? []) {
        for (let q = 0; q < h.queues.length; q++)
          ops.push({ op: 'settle', queueId: h.queues[q]!, seq: h.seqs[q]!, message: h.m });
      }
      held.delete(id - 2);
      ops.push({ op: 'markDelivered', queueId: 1, seq: id * 16 });
      store.commit(ops);
      held.set(id, mine);
      outstanding++;
      store.afterSync((err) => {
        if (err !== undefined) throw err;
        outstanding--;
        out(`C ${id}`);
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
