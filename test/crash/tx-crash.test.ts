/**
 * Exactly-once consume → process → produce with AMQP transactions across SIGKILLs. Workers on
 * a `baton serve` child take inputs from `tx-in`, publish one output per input to `tx-out`,
 * ack the inputs and tx.commit (one step per commit, or batches of up to 10); the broker is
 * SIGKILLed at a random moment under that load and restarted on the same directory, again and
 * again. After every restart, for every input ever published exactly one of these holds: the
 * input is still in `tx-in`, or its output is in `tx-out` (never both, never neither, never
 * twice); and every step whose commit-ok arrived has its output. BATON_CRASH_SEED=<n> replays
 * a run's timings; BATON_CRASH_CYCLES sets the kills (default 10; `npm run reliability`: 200).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp, { type ConsumeMessage } from 'amqplib';
import { txCommit, txSelect } from '../helpers/amqp-raw.js';
import { tempDir, until } from '../helpers/core.js';
import { killBroker, spawnBroker } from '../helpers/server.js';
import { prng, seedFromEnv } from '../store/helpers.js';

const KILLS = Number(process.env.BATON_CRASH_CYCLES ?? 10);
const IN = 'tx-in';
const OUT = 'tx-out';
/** Batch size of each worker: steps of one input, and batches of up to 10 per commit. */
const WORKERS = [1, 1, 10];

interface Worker {
  /** Resolves once the worker has stopped (its connection died). */
  done: Promise<void>;
}

/** A worker: consume, publish one output per input, ack, commit; until its connection dies. */
async function startWorker(url: string, batch: number, committed: Set<number>): Promise<Worker> {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  await txSelect(ch);
  await ch.prefetch(batch);
  const inbox: ConsumeMessage[] = [];
  let wake: (() => void) | undefined;
  let stopped = false;
  conn.on('close', () => {
    stopped = true;
    wake?.();
  });
  await ch.consume(IN, (m) => {
    if (m === null) return;
    inbox.push(m);
    wake?.();
  });
  const done = (async () => {
    while (!stopped) {
      if (inbox.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const step = inbox.splice(0, batch);
      const ids = step.map((m) => Number(m.properties.messageId));
      // The publishes, then the acks, then the commit: nothing is sent for the next step
      // before this commit is answered, so each commit holds exactly one step.
      for (const id of ids)
        ch.sendToQueue(OUT, Buffer.from(`out ${id}`), { persistent: true, messageId: `${id}` });
      for (const m of step) ch.ack(m);
      await txCommit(ch);
      for (const id of ids) committed.add(id);
    }
  })().catch(() => {});
  return { done };
}

/** Every message id in `queue`, read with acks off and given back (the channel is closed). */
async function idsIn(url: string, queue: string): Promise<number[]> {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  try {
    const ch = await conn.createChannel();
    const n = (await ch.checkQueue(queue)).messageCount;
    const ids: number[] = [];
    await ch.consume(queue, (m) => {
      if (m !== null) ids.push(Number(m.properties.messageId));
    });
    await until(() => ids.length === n, `all ${n} messages of ${queue}`);
    return ids;
  } finally {
    await conn.close();
  }
}

void test(`tx: consume → produce steps are all or nothing across ${KILLS} SIGKILLs of the broker`, async (t) => {
  const dir = tempDir(t, 'baton-tx-crash-');
  const seed = seedFromEnv('BATON_CRASH_SEED');
  const rand = prng(seed);
  const ctx = `seed ${seed} (BATON_CRASH_SEED)`;
  let published = 0;
  const committed = new Set<number>();
  let maxInFlight = 0;
  for (let run = 1; run <= KILLS; run++) {
    const b = await spawnBroker(t, dir);
    const conn = await amqp.connect(b.url);
    conn.on('error', () => {});
    const setup = await conn.createConfirmChannel();
    await setup.assertQueue(IN, { durable: true });
    await setup.assertQueue(OUT, { durable: true });
    const ready = (await setup.checkQueue(IN)).messageCount;
    // Enough inputs for this run's load, each with its own id.
    for (let i = ready; i < 3000; i++) {
      setup.sendToQueue(IN, Buffer.from(`in ${published}`), {
        persistent: true,
        messageId: `${published}`,
      });
      published++;
    }
    await setup.waitForConfirms();
    const before = committed.size;
    const workers = await Promise.all(WORKERS.map((n) => startWorker(b.url, n, committed)));
    // Under load: kill once some steps have committed, at a random moment after.
    await until(() => committed.size > before, `run ${run}: a first commit`);
    await new Promise((r) => setTimeout(r, 20 + Math.floor(rand() * 300)));
    await killBroker(b.child);
    await Promise.all(workers.map((w) => w.done));
    await conn.close().catch(() => {});
    maxInFlight = Math.max(maxInFlight, committed.size - before);

    const again = await spawnBroker(t, dir);
    const inputs = await idsIn(again.url, IN);
    const outputs = await idsIn(again.url, OUT);
    await killBroker(again.child);
    const at = `${ctx}, after run ${run}`;
    const seenIn = new Set(inputs);
    const seenOut = new Set(outputs);
    assert.equal(seenIn.size, inputs.length, `${at}: an input is there twice`);
    assert.equal(seenOut.size, outputs.length, `${at}: an output is there twice`);
    for (let id = 0; id < published; id++) {
      const i = seenIn.has(id);
      const o = seenOut.has(id);
      assert.ok(
        i !== o,
        `${at}: input ${id} ${i ? 'and its output are both' : 'is'} there${i ? '' : ' but its output is not'}`,
      );
      if (committed.has(id)) assert.ok(o, `${at}: committed step ${id} lost its output`);
    }
  }
  t.diagnostic(
    `${ctx}: ${committed.size} steps committed of ${published} inputs over ${KILLS} kills (up to ${maxInFlight} in one run)`,
  );
});
