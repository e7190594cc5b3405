// Reliability plan A1 over AMQP: kill -9 the broker under load with publisher confirms, restart
// it on the same data dir, repeat, then drain and check the history Jepsen-style
// (docs: reliability.md §6 A1 and §7). The history is written by this process only: the
// producer child reports invokes and confirms on stdout, the consumer here logs each delivery
// before acking it.
//
// Env: BATON_CRASH_CYCLES (default 10) kills per run; BATON_CRASH_SEED replays a run.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { tempDir } from '../helpers/core.js';
import { killBroker, spawnBroker } from '../helpers/server.js';

// ---- history --------------------------------------------------------------------------------

export interface HistoryEvent {
  t: number;
  proc: string;
  type: 'invoke' | 'ok' | 'fail' | 'info';
  /** kill/start are nemesis markers (proc 'nemesis'); the checker ignores them. */
  f: 'publish' | 'deliver' | 'kill' | 'start';
  id: string;
  seq: number;
  redelivered?: boolean;
  tag?: number;
  queue?: string;
}

class History {
  readonly events: HistoryEvent[] = [];
  private readonly out: WriteStream;
  readonly file: string;
  constructor(file: string) {
    this.file = file;
    this.out = createWriteStream(file);
  }
  add(e: Omit<HistoryEvent, 't'>): void {
    const ev = { t: Date.now(), ...e };
    this.events.push(ev);
    this.out.write(`${JSON.stringify(ev)}\n`);
  }
  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'close');
  }
}

// ---- checker (jepsen total-queue style, reliability.md §7.4) --------------------------------

export interface CheckResult {
  valid: boolean;
  attempted: number;
  confirmed: number;
  nacked: number;
  indeterminate: number;
  delivered: number;
  deliveredUnique: number;
  lost: number;
  lostIds: string[];
  lostClass: { prefix: number; middle: number; postfix: number };
  unseen: boolean;
  unexpected: number;
  unexpectedIds: string[];
  nackButDelivered: number;
  duplicated: number;
  duplicatedWithRedelivered: number;
  duplicatedWithoutRedelivered: number;
  duplicatedWithoutRedeliveredIds: string[];
  recovered: number;
  /** Inversions among redelivered=false deliveries (the §7 definition)… */
  inversions: number;
  /** …and among the first copy of each id only, to tell reordering from duplicates. */
  inversionsAmongFirstCopies: number;
  inversionSamples: string[];
}

/**
 * `unseen`: the drain gave up before every confirmed id was read, so missing ids are reported
 * as unseen rather than lost (still invalid).
 */
export function check(events: readonly HistoryEvent[], unseen = false): CheckResult {
  const attempts = new Set<string>();
  const confirmed = new Set<string>();
  const nacked = new Set<string>();
  const seqOf = new Map<string, { proc: string; seq: number }>();
  const deliveries = new Map<string, boolean[]>(); // id -> redelivered flags in arrival order
  const firstTime = new Map<string, number[]>(); // producer -> seqs of redelivered=false deliveries
  const firstCopies = new Map<string, number[]>(); // producer -> seqs of each id's first delivery
  let delivered = 0;
  for (const e of events) {
    if (e.f === 'publish') {
      seqOf.set(e.id, { proc: e.proc, seq: e.seq });
      if (e.type === 'invoke') attempts.add(e.id);
      else if (e.type === 'ok') confirmed.add(e.id);
      else if (e.type === 'fail') nacked.add(e.id);
    } else if (e.f === 'deliver') {
      delivered++;
      const producer = e.id.slice(0, e.id.lastIndexOf('-'));
      let d = deliveries.get(e.id);
      if (d === undefined) {
        deliveries.set(e.id, (d = []));
        let s = firstCopies.get(producer);
        if (s === undefined) firstCopies.set(producer, (s = []));
        s.push(e.seq);
      }
      d.push(e.redelivered === true);
      if (e.redelivered !== true) {
        let s = firstTime.get(producer);
        if (s === undefined) firstTime.set(producer, (s = []));
        s.push(e.seq);
      }
    }
  }
  const lostIds = [...confirmed].filter((id) => !deliveries.has(id));
  // Per producer: lost below the first delivered seq is a prefix, above the last a postfix.
  const lostClass = { prefix: 0, middle: 0, postfix: 0 };
  const range = new Map<string, { lo: number; hi: number }>();
  for (const id of deliveries.keys()) {
    const s = seqOf.get(id);
    if (s === undefined) continue;
    const r = range.get(s.proc) ?? { lo: Infinity, hi: -Infinity };
    range.set(s.proc, { lo: Math.min(r.lo, s.seq), hi: Math.max(r.hi, s.seq) });
  }
  for (const id of lostIds) {
    const s = seqOf.get(id)!;
    const r = range.get(s.proc);
    if (r === undefined || s.seq > r.hi) lostClass.postfix++;
    else if (s.seq < r.lo) lostClass.prefix++;
    else lostClass.middle++;
  }
  const unexpectedIds = [...deliveries.keys()].filter((id) => !attempts.has(id));
  const nackButDelivered = [...nacked].filter((id) => deliveries.has(id)).length;
  let duplicated = 0;
  let withRedelivered = 0;
  const withoutRedeliveredIds: string[] = [];
  for (const [id, flags] of deliveries) {
    if (flags.length < 2) continue;
    duplicated++;
    if (flags.slice(1).every((r) => r)) withRedelivered++;
    else withoutRedeliveredIds.push(id);
  }
  let recovered = 0;
  for (const id of deliveries.keys())
    if (attempts.has(id) && !confirmed.has(id) && !nacked.has(id)) recovered++;
  const inversionSamples: string[] = [];
  const countInversions = (perProducer: Map<string, number[]>, samples: string[] | undefined) => {
    let n = 0;
    for (const [producer, seqs] of perProducer) {
      let max = -Infinity;
      for (const seq of seqs) {
        if (seq <= max) {
          n++;
          if (samples !== undefined && samples.length < 10)
            samples.push(`${producer}-${seq} after ${producer}-${max}`);
        } else max = seq;
      }
    }
    return n;
  };
  const inversions = countInversions(firstTime, inversionSamples);
  const inversionsAmongFirstCopies = countInversions(firstCopies, undefined);
  const indeterminate = [...attempts].filter((id) => !confirmed.has(id) && !nacked.has(id)).length;
  const result: CheckResult = {
    valid: false,
    attempted: attempts.size,
    confirmed: confirmed.size,
    nacked: nacked.size,
    indeterminate,
    delivered,
    deliveredUnique: deliveries.size,
    lost: lostIds.length,
    lostIds: lostIds.slice(0, 20),
    lostClass,
    unseen: unseen && lostIds.length > 0,
    unexpected: unexpectedIds.length,
    unexpectedIds: unexpectedIds.slice(0, 20),
    nackButDelivered,
    duplicated,
    duplicatedWithRedelivered: withRedelivered,
    duplicatedWithoutRedelivered: withoutRedeliveredIds.length,
    duplicatedWithoutRedeliveredIds: withoutRedeliveredIds.slice(0, 20),
    recovered,
    inversions,
    inversionsAmongFirstCopies,
    inversionSamples,
  };
  result.valid =
    result.lost === 0 &&
    result.unexpected === 0 &&
    result.nackButDelivered === 0 &&
    result.duplicatedWithoutRedelivered === 0 &&
    result.inversions === 0;
  return result;
}

// ---- harness ----------------------------------------------------------------------------------

const QUEUE = 'crash-q';
const PRODUCER = 'p';
const producerScript = fileURLToPath(new URL('./amqp-producer.js', import.meta.url));

/** mulberry32: a small seeded PRNG so a failing run can be replayed with BATON_CRASH_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Producer {
  child: ChildProcess;
  ready: Promise<boolean>;
  /** Resolves after the child exited and all of its stdout was read. */
  done: Promise<string>;
  stop: () => void;
}

/** Producer children still running, SIGKILLed after the test whatever happened. */
const liveProducers = new Set<ChildProcess>();

/** Start the producer child; its stdout lines become history events. */
function startProducer(
  url: string,
  firstSeq: number,
  history: History,
  onSeq: (s: number) => void,
): Producer {
  const child = spawn(
    process.execPath,
    [producerScript, url, QUEUE, PRODUCER, String(firstSeq), '200', '20'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  liveProducers.add(child);
  child.once('exit', () => liveProducers.delete(child));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => {});
  let closedLine = '';
  let readyResolve!: (ok: boolean) => void;
  const ready = new Promise<boolean>((r) => (readyResolve = r));
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (l) => {
    const [kind, a, b] = l.split(' ');
    if (kind === 'ready') return readyResolve(true);
    if (kind === 'closed') {
      closedLine = l;
      return;
    }
    const type = kind as HistoryEvent['type'];
    if (!['invoke', 'ok', 'fail', 'info'].includes(type)) return;
    for (let seq = Number(a); seq <= Number(b); seq++) {
      history.add({
        proc: PRODUCER,
        type,
        f: 'publish',
        id: `${PRODUCER}-${seq}`,
        seq,
        queue: QUEUE,
      });
      if (type === 'invoke') onSeq(seq);
    }
  });
  const done = (async () => {
    await Promise.all([once(child, 'exit'), once(rl, 'close')]);
    readyResolve(false);
    if (child.exitCode !== 0)
      return `producer exited ${child.exitCode ?? child.signalCode}: ${stderr}`;
    return closedLine;
  })();
  return {
    child,
    ready,
    done,
    stop: () => child.stdin.end('stop\n'),
  };
}

interface Consumer {
  closed: Promise<void>;
  close: () => Promise<void>;
}

/** A consumer in this process: prefetch 50, manual ack, each delivery logged before its ack. */
async function startConsumer(
  url: string,
  history: History,
  onDeliver: () => void,
): Promise<Consumer | undefined> {
  let conn: amqp.ChannelModel;
  try {
    conn = await amqp.connect(url);
  } catch {
    return undefined;
  }
  conn.on('error', () => {});
  const closed = new Promise<void>((r) => conn.once('close', () => r()));
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.assertQueue(QUEUE, { durable: true });
    await ch.prefetch(50);
    await ch.consume(QUEUE, (m) => {
      if (!m) return;
      const id = String(m.properties.messageId);
      let body: { id?: string; seq?: number } = {};
      try {
        body = JSON.parse(m.content.toString()) as typeof body;
      } catch {
        // a corrupt body shows up as an unexpected id below
      }
      const seq = Number(id.slice(id.lastIndexOf('-') + 1));
      history.add({
        proc: 'c',
        type: 'ok',
        f: 'deliver',
        id:
          body.id === id && body.seq === seq
            ? id
            : `corrupt:${id}:${m.content.toString('hex').slice(0, 40)}`,
        seq,
        redelivered: m.fields.redelivered,
        tag: m.fields.deliveryTag,
        queue: QUEUE,
      });
      onDeliver();
      try {
        ch.ack(m);
      } catch {
        // the channel died with the broker; the delivery is already in the history
      }
    });
  } catch {
    // the broker died while we were setting up
  }
  let closing: Promise<void> | undefined;
  return {
    closed,
    // amqplib's close() on a connection that is already gone may never settle.
    close: () =>
      (closing ??= Promise.race([conn.close().catch(() => {}), closed, sleep(2000)]).then(
        () => {},
      )),
  };
}

void test('checker: the oracle can fail (lost, unexpected, nacked-but-delivered, dup without redelivered, inversion)', () => {
  const ev = (
    type: HistoryEvent['type'],
    f: HistoryEvent['f'],
    seq: number,
    redelivered?: boolean,
  ): HistoryEvent => ({
    t: 0,
    proc: 'p',
    type,
    f,
    id: `p-${seq}`,
    seq,
    ...(redelivered === undefined ? {} : { redelivered }),
  });
  const base = [1, 2, 3, 4].flatMap((s) => [ev('invoke', 'publish', s), ev('ok', 'publish', s)]);
  const good = check([
    ...base,
    ...[1, 2, 3, 4].map((s) => ev('ok', 'deliver', s, false)),
    ev('ok', 'deliver', 2, true),
  ]);
  assert.equal(good.valid, true, JSON.stringify(good));
  assert.equal(good.duplicatedWithRedelivered, 1);

  const lost = check([...base, ...[1, 2, 4].map((s) => ev('ok', 'deliver', s, false))]);
  assert.equal(lost.valid, false);
  assert.deepEqual([lost.lost, lost.lostClass.middle], [1, 1]);

  const phantom = check([...base, ...[1, 2, 3, 4, 9].map((s) => ev('ok', 'deliver', s, false))]);
  assert.deepEqual([phantom.valid, phantom.unexpected], [false, 1]);

  const nack = check([
    ...base,
    ev('invoke', 'publish', 5),
    ev('fail', 'publish', 5),
    ...[1, 2, 3, 4, 5].map((s) => ev('ok', 'deliver', s, false)),
  ]);
  assert.deepEqual([nack.valid, nack.nackButDelivered], [false, 1]);

  const dup = check([...base, ...[1, 2, 3, 4, 3].map((s) => ev('ok', 'deliver', s, false))]);
  assert.equal(dup.valid, false);
  assert.equal(dup.duplicatedWithoutRedelivered, 1);

  const inverted = check([...base, ...[2, 1, 3, 4].map((s) => ev('ok', 'deliver', s, false))]);
  assert.deepEqual([inverted.valid, inverted.inversions], [false, 1]);
});

void test('A1 over AMQP: SIGKILL the broker under confirmed load, restart, repeat; no confirmed message lost', async (t) => {
  const cycles = Number(process.env.BATON_CRASH_CYCLES ?? 10);
  const seed =
    process.env.BATON_CRASH_SEED !== undefined
      ? Number(process.env.BATON_CRASH_SEED)
      : randomInt(2 ** 31);
  const rand = prng(seed);
  t.diagnostic(`seed ${seed} (replay with BATON_CRASH_SEED=${seed}), cycles ${cycles}`);
  const dataDir = tempDir(t, 'baton-crash-');
  // Not under tempDir: that one may be removed before the hook below has closed the history.
  const historyDir = mkdtempSync(join(tmpdir(), 'baton-crash-history-'));
  const history = new History(join(historyDir, 'history.jsonl'));
  let maxInvoked = 0;
  let lastDelivery = Date.now();
  const onSeq = (s: number): void => {
    if (s > maxInvoked) maxInvoked = s;
  };
  const onDeliver = (): void => {
    lastDelivery = Date.now();
  };
  /** Milliseconds from spawn to the AMQP port being open, per (re)start. */
  const restarts: number[] = [];

  const boot = async () => {
    const started = Date.now();
    const b = await spawnBroker(t, dataDir, ['--segment-size', String(1024 * 1024)]);
    restarts.push(Date.now() - started);
    history.add({ proc: 'nemesis', type: 'info', f: 'start', id: '', seq: b.port });
    return b;
  };

  t.after(() => Promise.all([...liveProducers].map((c) => killBroker(c))));
  let failed = true;
  t.after(async () => {
    try {
      await history.close();
      if (failed) {
        const keep = join(tmpdir(), `baton-crash-${seed}.jsonl`);
        copyFileSync(history.file, keep);
        process.stderr.write(`\namqp-kill: FAILED with seed ${seed}; history kept in ${keep}\n`);
      }
    } finally {
      rmSync(historyDir, { recursive: true, force: true });
    }
  });

  let broker = await boot();
  const kills: Array<{ afterMs: number; consumer: boolean; producerExit: string }> = [];
  for (let cycle = 0; cycle < cycles; cycle++) {
    const withConsumer = cycle === 0 || rand() < 0.6;
    const consumer = withConsumer ? await startConsumer(broker.url, history, onDeliver) : undefined;
    const producer = startProducer(broker.url, maxInvoked + 1, history, onSeq);
    await producer.ready;
    const delay = 200 + Math.floor(rand() * 1300);
    await sleep(delay);
    history.add({ proc: 'nemesis', type: 'info', f: 'kill', id: '', seq: cycle });
    await killBroker(broker.child);
    const producerExit = await producer.done;
    if (consumer) await Promise.race([consumer.closed, sleep(5000)]);
    kills.push({ afterMs: delay, consumer: withConsumer, producerExit });
    broker = await boot();
  }

  // Final phase: no more faults. Publish a little more, stop the producer cleanly, then drain.
  const consumer = await startConsumer(broker.url, history, onDeliver);
  assert.ok(consumer, 'consumer connects to the final broker');
  t.after(() => consumer.close());
  const producer = startProducer(broker.url, maxInvoked + 1, history, onSeq);
  assert.equal(await producer.ready, true, 'producer connects to the final broker');
  await sleep(300);
  producer.stop();
  const finalExit = await producer.done;
  assert.equal(finalExit, 'closed stopped', 'the final producer stops cleanly');

  const conn = await amqp.connect(broker.url);
  conn.on('error', () => {});
  t.after(() => Promise.race([conn.close().catch(() => {}), sleep(2000)]));
  const probe = await conn.createChannel();
  const confirmedIds = () =>
    history.events.filter((e) => e.f === 'publish' && e.type === 'ok').map((e) => e.id);
  const deliveredIds = () =>
    new Set(history.events.filter((e) => e.f === 'deliver').map((e) => e.id));
  const drainDeadline = Date.now() + 30000;
  let unseen = false;
  for (;;) {
    const q = await probe.checkQueue(QUEUE);
    const seen = deliveredIds();
    const missing = confirmedIds().filter((id) => !seen.has(id)).length;
    if (q.messageCount === 0 && missing === 0 && Date.now() - lastDelivery > 1000) break;
    if (Date.now() > drainDeadline) {
      unseen = missing > 0;
      break;
    }
    await sleep(100);
  }
  await consumer.close();

  const result = check(history.events, unseen);
  const report = {
    seed,
    cycles,
    ...result,
    kills: kills.length,
    restartMs: restarts,
    producerExits: [...new Set(kills.map((k) => k.producerExit.replace(/\d+/g, 'N')))],
  };
  // Not the "N passed, N failed" form: CI reads that from the test runner's own closing lines.
  const summary = `checker: ${result.valid ? 'valid' : 'INVALID'} (lost ${result.lost}, unexpected ${result.unexpected})`;
  for (const line of JSON.stringify(report, null, 1).split('\n')) t.diagnostic(line);
  t.diagnostic(summary);
  console.log(JSON.stringify(report));
  console.log(summary);

  assert.equal(kills.length, cycles);
  assert.ok(result.confirmed > 0, 'something was confirmed');
  assert.deepEqual(result.lostIds, [], `lost confirmed messages (seed ${seed})`);
  assert.deepEqual(result.unexpectedIds, [], `unexpected deliveries (seed ${seed})`);
  assert.equal(result.nackButDelivered, 0, `nacked but delivered (seed ${seed})`);
  assert.deepEqual(
    result.duplicatedWithoutRedeliveredIds,
    [],
    `duplicates without redelivered=true (seed ${seed})`,
  );
  assert.deepEqual(
    result.inversionSamples,
    [],
    `first-time deliveries out of order (seed ${seed})`,
  );
  assert.equal(result.valid, true);
  failed = false;
});
