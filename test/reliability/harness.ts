// Producers, consumers and the final drain of a fault run (reliability.md §7). Producers are
// child processes (test/crash/amqp-producer.ts) so a blocked or dying producer never stalls the
// test process; consumers run here and log each delivery to the history before acking it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { History, HistoryEvent } from './history.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// One seeded PRNG for the whole suite (mulberry32), so a failing run replays from its seed.
export { prng } from '../store/helpers.js';

/** Wait until `cond()` holds, polling; false if `timeoutMs` passed first. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

const producerScript = fileURLToPath(new URL('../crash/amqp-producer.js', import.meta.url));

export interface ProducerOptions {
  url: string;
  queue: string;
  /** Producer name: message ids are `${name}-${seq}`. */
  name: string;
  firstSeq: number;
  /** Outstanding confirms kept (default 200). */
  window?: number;
  /** Publishes per invoke line (default 20). */
  batch?: number;
  /** Approximate body size in bytes (default: the bare JSON, ~40 B). */
  bodySize?: number;
}

export interface Producer {
  child: ChildProcess;
  /** true once connected and the queue is declared; false if it exited first. */
  ready: Promise<boolean>;
  /** Resolves after the child exited and all its stdout was read: its `closed` line or an error. */
  done: Promise<string>;
  /** Stop publishing, wait for outstanding confirms, close. */
  stop: () => void;
  /** connection.blocked / connection.unblocked seen by amqplib so far. */
  blocked: number;
  unblocked: number;
  confirmed: number;
  nacked: number;
  indeterminate: number;
}

/** Start a producer child; its stdout lines become history events. Killed after the test. */
export function startProducer(t: TestContext, o: ProducerOptions, history: History): Producer {
  const child = spawn(
    process.execPath,
    [
      producerScript,
      o.url,
      o.queue,
      o.name,
      String(o.firstSeq),
      String(o.window ?? 200),
      String(o.batch ?? 20),
      String(o.bodySize ?? 0),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => {});
  let closedLine = '';
  let readyResolve!: (ok: boolean) => void;
  const ready = new Promise<boolean>((r) => (readyResolve = r));
  const rl = createInterface({ input: child.stdout });
  const p: Producer = {
    child,
    ready,
    done: Promise.resolve(''),
    stop: () => child.stdin.end('stop\n'),
    blocked: 0,
    unblocked: 0,
    confirmed: 0,
    nacked: 0,
    indeterminate: 0,
  };
  rl.on('line', (l) => {
    const [kind, a, b] = l.split(' ');
    if (kind === 'ready') return readyResolve(true);
    if (kind === 'closed') {
      closedLine = l;
      return;
    }
    if (kind === 'blocked') return void p.blocked++;
    if (kind === 'unblocked') return void p.unblocked++;
    const type = kind as HistoryEvent['type'];
    if (!['invoke', 'ok', 'fail', 'info'].includes(type)) return;
    const n = Number(b) - Number(a) + 1;
    if (type === 'ok') p.confirmed += n;
    else if (type === 'fail') p.nacked += n;
    else if (type === 'info') p.indeterminate += n;
    for (let seq = Number(a); seq <= Number(b); seq++)
      history.add({
        proc: o.name,
        type,
        f: 'publish',
        id: `${o.name}-${seq}`,
        seq,
        queue: o.queue,
      });
  });
  p.done = (async () => {
    await Promise.all([once(child, 'exit'), once(rl, 'close')]);
    readyResolve(false);
    if (child.exitCode !== 0)
      return `producer exited ${child.exitCode ?? child.signalCode}: ${stderr}`;
    return closedLine;
  })();
  return p;
}

export interface ConsumerOptions {
  queue: string;
  /** Name in the history (default 'c'). */
  proc?: string;
  prefetch?: number;
  /** Ack each delivery after logging it (default true). */
  ack?: boolean;
}

export interface Consumer {
  conn: amqp.ChannelModel;
  closed: Promise<void>;
  close: () => Promise<void>;
  /** Acks sent (the ack frame was handed to the socket). */
  acked: string[];
}

/**
 * A consumer in this process, manual ack, each delivery logged before its ack. A body that is
 * not the producer's JSON for the message-id is logged as an unexpected `corrupt:` id.
 * Undefined if the broker cannot be reached.
 */
export async function startConsumer(
  t: TestContext,
  url: string,
  history: History,
  o: ConsumerOptions,
): Promise<Consumer | undefined> {
  let conn: amqp.ChannelModel;
  try {
    conn = await amqp.connect(url);
  } catch {
    return undefined;
  }
  conn.on('error', () => {});
  const closed = new Promise<void>((r) => conn.once('close', () => r()));
  const acked: string[] = [];
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.assertQueue(o.queue, { durable: true });
    await ch.prefetch(o.prefetch ?? 50);
    await ch.consume(o.queue, (m) => {
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
        proc: o.proc ?? 'c',
        type: 'ok',
        f: 'deliver',
        id:
          body.id === id && body.seq === seq
            ? id
            : `corrupt:${id}:${m.content.toString('hex').slice(0, 40)}`,
        seq,
        redelivered: m.fields.redelivered,
        tag: m.fields.deliveryTag,
        queue: o.queue,
      });
      if (o.ack === false) return;
      try {
        ch.ack(m);
        acked.push(id);
      } catch {
        // the channel died with the broker; the delivery is already in the history
      }
    });
  } catch {
    // the broker died while we were setting up
  }
  let closing: Promise<void> | undefined;
  // amqplib's close() on a connection that is already gone may never settle.
  const close = (): Promise<void> =>
    (closing ??= Promise.race([conn.close().catch(() => {}), closed, sleep(2000)]).then(() => {}));
  t.after(close);
  return { conn, closed, close, acked };
}

export interface DrainResult {
  /** The drain gave up with confirmed ids still unseen (report them as unseen, not lost). */
  unseen: boolean;
  ms: number;
}

/**
 * The final phase (§7.3): consume with a fresh consumer until a passive declare reports 0
 * messages, every confirmed id was seen, and no delivery arrived for `quietMs`. It gives up
 * (unseen) when confirmed ids are missing and nothing was delivered for `stallMs`, or after
 * `timeoutMs` in all, so a long run's large backlog is drained rather than reported unseen.
 */
export async function drain(
  t: TestContext,
  url: string,
  history: History,
  queue: string,
  {
    timeoutMs = 600000,
    quietMs = 2000,
    stallMs = 15000,
    excused,
  }: {
    timeoutMs?: number;
    stallMs?: number;
    quietMs?: number;
    /** Confirmed ids the fault may take away: the drain does not wait for them. */
    excused?: ReadonlySet<string>;
  } = {},
): Promise<DrainResult> {
  const started = Date.now();
  const consumer = await startConsumer(t, url, history, { queue, proc: 'drain' });
  if (consumer === undefined) throw new Error(`drain: cannot connect to ${url}`);
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  t.after(() => Promise.race([conn.close().catch(() => {}), sleep(2000)]));
  const probe = await conn.createChannel();
  const deadline = started + timeoutMs;
  // Delivery count at the start: the quiet period counts from the drain's start at the latest.
  const quietFrom = Date.now();
  let unseen = false;
  for (;;) {
    const q = await probe.checkQueue(queue);
    const seen = new Set(history.ids('deliver'));
    const missing = history
      .ids('publish', 'ok')
      .filter((id) => !seen.has(id) && excused?.has(id) !== true).length;
    const quiet = Math.min(history.sinceLastDelivery(), Date.now() - quietFrom);
    if (q.messageCount === 0 && missing === 0 && quiet >= quietMs) break;
    if (Date.now() > deadline || (missing > 0 && quiet >= stallMs)) {
      unseen = missing > 0;
      break;
    }
    await sleep(100);
  }
  await consumer.close();
  await Promise.race([conn.close().catch(() => {}), sleep(2000)]);
  return { unseen, ms: Date.now() - started };
}
