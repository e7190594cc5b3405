/**
 * The load generator for `npm run bench`: one process, amqplib clients, separate connections
 * per producer and consumer, publisher confirms with a window, manual acks, and an
 * exactly-once check. Run as `node dist/bench/load.js '<json LoadSpec>'`; prints one JSON line.
 */
import { basename } from 'node:path';
import amqp from 'amqplib';

export interface LoadSpec {
  url: string;
  queue: string;
  producers: number;
  consumers: number;
  /** Messages per producer. */
  messages: number;
  size: number;
  prefetch: number;
  /** Outstanding unconfirmed publishes per producer. */
  window: number;
  /** Fixed total publish rate in msgs/s (0: as fast as confirms allow). */
  rate: number;
  /**
   * How a fixed `rate` is kept. 'schedule' (default): each message has a due time and the
   * producer sleeps only while more than 1 ms ahead of it, catching up after a late timer.
   * 'timer': what an ordinary client does, a setInterval every 1 ms that sends rate/1000
   * messages per producer and never catches up on a late or skipped tick.
   */
  pacing?: 'schedule' | 'timer';
  /** Publish everything first, then start consumers (backlog scenario). */
  backlog: boolean;
  /** Number of queues (each with its own producer/consumer pair); 0/1 = one shared queue. */
  queues: number;
  /** Connections to multiplex the queues' channels over. */
  connections: number;
  /**
   * Failure handling (one queue only): the queue dead-letters into `<queue>.dlq` through the
   * default exchange, and the counting consumers read the DLQ. 'dlx': one more consumer
   * rejects every message (requeue=false); 'ttl': nobody reads the queue, x-message-ttl
   * `ttlMs` expires each.
   */
  failure?: 'dlx' | 'ttl';
  ttlMs?: number;
  /**
   * Message groups: publish with header x-group-id `g<seq % groups>`, and count deliveries
   * that came before an earlier-published message of their group (`groupInversions`).
   */
  groups?: number;
  /**
   * Delayed delivery (one queue only): publish through an x-delayed-message exchange bound to
   * the queue, each message with an x-delay spread over 0..delayMs (so delivery order is not
   * publish order).
   */
  delayMs?: number;
  /**
   * Deduplication (one queue only): the queue has x-message-deduplication, every message an
   * id, and after every `dedupEvery`-th message the producer resends the one before it (a
   * retry): confirmed, never delivered twice (the exactly-once check counts it).
   */
  dedupEvery?: number;
  /**
   * A priority queue (x-max-priority): each message gets a pseudo-random priority in
   * [0, maxPriority), and order is checked per producer within each priority.
   */
  maxPriority?: number;
  /**
   * Transactional consume → produce (one queue only): a worker on a tx channel takes up to
   * `tx` messages from the queue, publishes each to `<queue>.out`, acks them and commits
   * (tx.commit), one commit at a time; the counting consumers read `<queue>.out`.
   */
  tx?: number;
  /**
   * Scrapers running during the load (metrics scenario): each URL fetched every `everyMs`,
   * as Prometheus and an open dashboard would. `auth` is a Basic credential (user:pass).
   */
  scrape?: { url: string; everyMs: number; auth?: string }[];
  /**
   * Untimed messages at the start of each producer's run (a warm-up at the same rate): their
   * latencies are left out of the percentiles, so a fresh process's compile time is not in the
   * tail. Everything else (counts, exactly-once, rates) covers them.
   */
  warmup?: number;
  /**
   * Workers (the `work` scenario): each consumer handles at most this many messages per second,
   * as a job worker would: deliveries wait in the client until a 10 ms tick takes its share,
   * counts and acks them.
   */
  workRate?: number;
  /**
   * Fire and forget, as amqplib's tutorials and many apps run: producers on plain channels (no
   * confirms, no window: only the socket's drain paces them), consumers with noAck. Durable
   * queue and persistent messages as everywhere else.
   */
  plain?: boolean;
  /** Scenario-level interval; run.ts turns it into `scrape` with the target's URLs. */
  scrapeEveryMs?: number;
  /** The broker's pid, for loads that read its CPU themselves (run.ts fills it in for `sat`). */
  brokerPid?: number;
  /** The `tls` scenario (bench/tls-load.ts); run.ts fills in `ca` and `brokerPid`. */
  tls?: TlsLoad;
}

export interface TlsLoad {
  connections: number;
  /** Handshakes in flight while opening. */
  opening: number;
  /** PEM file the client trusts (the bench's self-signed certificate). */
  ca?: string;
  /** The broker's pid, for its CPU and RSS around the opening and the message phase. */
  brokerPid?: number;
}

export interface LoadResult {
  published: number;
  confirmed: number;
  delivered: number;
  duplicates: number;
  missing: number;
  /** First deliveries that came before an earlier-published message of the same producer. */
  inversions: number;
  /** With `groups`: first deliveries that overtook an earlier message of their group. */
  groupInversions: number;
  publishSeconds: number;
  totalSeconds: number;
  drainSeconds: number;
  publishRate: number;
  endToEndRate: number;
  drainRate: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  /**
   * The same without each producer's first tenth of messages: the tail once both sides are
   * warm (a fresh client's first burst, compiled as it goes, is most of an unpaced run's p99).
   */
  steadyLatencyMs?: { p50: number; p99: number; p999: number; max: number };
  clientCpuSeconds: number;
  /** Successful scrapes (with `scrape`); a failed one fails the run. */
  scrapes?: number;
  /** Scenario-specific figures (sac, tls: see their load files), printed and journaled as is. */
  extra?: Record<string, number | string>;
}

/**
 * A consumer that handles `perSecond` messages a second at most: deliveries queue up in the
 * client, and a 10 ms tick hands its share to `handle` (a late tick loses its share, as a busy
 * worker would: the handled rate is measured, not assumed). `stop` ends the ticks.
 */
function worker(
  perSecond: number,
  handle: (m: amqp.ConsumeMessage) => void,
): { handler: (m: amqp.ConsumeMessage | null) => void; stop: () => void } {
  const pending: amqp.ConsumeMessage[] = [];
  const perTick = perSecond / 100;
  let credit = 0;
  const timer = setInterval(() => {
    credit = Math.min(credit + perTick, perTick * 2);
    const n = Math.min(Math.floor(credit), pending.length);
    credit -= n;
    for (const m of pending.splice(0, n)) handle(m);
  }, 10).unref();
  return {
    handler: (m) => {
      if (m !== null) pending.push(m);
    },
    stop: () => clearInterval(timer),
  };
}

/** Fetches each URL on its interval until stopped; resolves the count (throws on a failure). */
function startScrapers(list: NonNullable<LoadSpec['scrape']>): () => Promise<number> {
  let count = 0;
  let failure: Error | undefined;
  const timers = list.map((s) => {
    const headers: Record<string, string> = {};
    if (s.auth !== undefined)
      headers.authorization = `Basic ${Buffer.from(s.auth).toString('base64')}`;
    let busy = false;
    return setInterval(() => {
      if (busy) return;
      busy = true;
      fetch(s.url, { headers })
        .then(async (r) => {
          await r.arrayBuffer();
          if (!r.ok) throw new Error(`scrape ${s.url}: HTTP ${r.status}`);
          count++;
        })
        .catch((err: unknown) => (failure ??= err as Error))
        .finally(() => (busy = false));
    }, s.everyMs);
  });
  return () => {
    for (const t of timers) clearInterval(t);
    return failure !== undefined ? Promise.reject(failure) : Promise.resolve(count);
  };
}

export const HEADER = 16; // producer (u32), seq (u32), send time (f64)

export function body(size: number, producer: number, seq: number): Buffer {
  const b = Buffer.alloc(Math.max(size, HEADER));
  b.writeUInt32BE(producer, 0);
  b.writeUInt32BE(seq, 4);
  b.writeDoubleBE(performance.now(), 8);
  return b;
}

/** A message's priority: a fixed hash of its seq, spread evenly over `levels`. */
function priorityOf(seq: number, levels: number): number {
  return (Math.imul(seq + 1, 0x9e3779b1) >>> 16) % levels;
}

/** What a script load (sac, tls, sat) counted, for `scriptResult`. */
export interface ScriptCounts {
  /** Messages published (each confirmed: a script load waits for every confirm). */
  total: number;
  /** Per message id, 1 once delivered. */
  seen: Uint8Array;
  /** First deliveries' latencies (ms), `delivered` of them. */
  latencies: Float64Array;
  delivered: number;
  duplicates: number;
  inversions: number;
  /** performance.now() at the first publish, the last confirm and the last delivery. */
  t0: number;
  tPublished: number;
  lastDelivery: number;
  /** The client's CPU over the load (process.cpuUsage(start)). */
  cpu: NodeJS.CpuUsage;
  extra: Record<string, number | string>;
}

/** The LoadResult of a script load: one pass, every publish confirmed, no backlog phase. */
export function scriptResult(c: ScriptCounts): LoadResult {
  let missing = 0;
  for (let i = 0; i < c.total; i++) if (!c.seen[i]) missing++;
  const publishSeconds = (c.tPublished - c.t0) / 1000;
  const totalSeconds = (c.lastDelivery - c.t0) / 1000;
  return {
    published: c.total,
    confirmed: c.total,
    delivered: c.delivered,
    duplicates: c.duplicates,
    missing,
    inversions: c.inversions,
    groupInversions: NaN,
    publishSeconds,
    totalSeconds,
    drainSeconds: (c.lastDelivery - c.tPublished) / 1000,
    publishRate: c.total / publishSeconds,
    endToEndRate: c.total / totalSeconds,
    drainRate: NaN,
    latencyMs: latencySummary(c.latencies.slice(0, c.delivered).sort()),
    clientCpuSeconds: (c.cpu.user + c.cpu.system) / 1e6,
    extra: c.extra,
  };
}

/** p50, p99, p99.9 and max of sorted latencies (ms), as every load reports them. */
export function latencySummary(sorted: Float64Array): LoadResult['latencyMs'] {
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
  };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const cpu0 = process.cpuUsage();
  const nq = Math.max(1, spec.queues);
  const nconn = Math.max(1, spec.connections);
  const producerCount = nq > 1 ? nq : spec.producers;
  const total = producerCount * spec.messages;
  const seen = new Uint8Array(total);
  const latencies = new Float64Array(total);
  const warmup = spec.warmup ?? 0;
  let timed = 0;
  const steadyFrom = Math.max(warmup, Math.floor(spec.messages / 10));
  const steady = new Float64Array(total);
  let steadyTimed = 0;
  let delivered = 0;
  let duplicates = 0;
  let inversions = 0;
  const levels = spec.maxPriority ?? 0;
  // Order holds per producer (and per priority, on a priority queue).
  const lastSeq = new Int32Array(producerCount * Math.max(1, levels)).fill(-1);
  const groups = spec.groups ?? 0;
  const lastGroupSeq = new Int32Array(groups * producerCount).fill(-1);
  let groupInversions = 0;
  let lastDelivery = 0;
  const conns: amqp.ChannelModel[] = [];
  const open = async (): Promise<amqp.ChannelModel> => {
    const c = await amqp.connect(spec.url);
    conns.push(c);
    return c;
  };
  const queueName = (i: number): string => (nq === 1 ? spec.queue : `${spec.queue}-${i}`);

  // Shared connection pools for the many-queues scenario; one connection each otherwise.
  const pool = nq > 1 ? await Promise.all(Array.from({ length: nconn }, open)) : [];
  const setup = await (pool[0] ?? (await open())).createChannel();
  const dlq = `${spec.queue}.dlq`;
  if (spec.failure !== undefined) {
    await setup.assertQueue(dlq, { durable: true });
    await setup.assertQueue(spec.queue, {
      durable: true,
      arguments: {
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': dlq,
        ...(spec.failure === 'ttl' ? { 'x-message-ttl': spec.ttlMs ?? 100 } : {}),
      },
    });
  } else if (spec.dedupEvery !== undefined) {
    await setup.assertQueue(spec.queue, {
      durable: true,
      arguments: { 'x-message-deduplication': true, 'x-cache-size': 100_000 },
    });
  } else
    for (let i = 0; i < nq; i++)
      await setup.assertQueue(queueName(i), {
        durable: true,
        ...(levels !== 0 && { arguments: { 'x-max-priority': levels } }),
      });
  const delayed = `${spec.queue}.delayed`;
  if (spec.delayMs !== undefined) {
    await setup.assertExchange(delayed, 'x-delayed-message', {
      durable: true,
      arguments: { 'x-delayed-type': 'direct' },
    });
    await setup.bindQueue(spec.queue, delayed, spec.queue);
  }
  const out = `${spec.queue}.out`;
  if (spec.tx !== undefined) await setup.assertQueue(out, { durable: true });
  // The counting consumers read the DLQ when failures are measured, the output of a tx worker.
  const consumeFrom = (i: number): string =>
    spec.failure !== undefined ? dlq : spec.tx !== undefined ? out : queueName(i);

  let allDelivered: () => void = () => {};
  const done = new Promise<void>((r) => (allDelivered = r));
  /** Stops the `workRate` workers' ticks. */
  const workers: (() => void)[] = [];
  const startConsumers = async (): Promise<void> => {
    const n = nq > 1 ? nq : spec.consumers;
    for (let i = 0; i < n; i++) {
      const conn = nq > 1 ? pool[i % nconn]! : await open();
      const ch = await conn.createChannel();
      const noAck = spec.plain === true;
      if (!noAck) await ch.prefetch(spec.prefetch);
      const consumed = (msg: amqp.ConsumeMessage | null): void => {
        if (msg === null) return;
        const c = msg.content;
        const producer = c.readUInt32BE(0);
        const seq = c.readUInt32BE(4);
        const idx = producer * spec.messages + seq;
        if (!msg.fields.redelivered) {
          const k = levels === 0 ? producer : producer * levels + priorityOf(seq, levels);
          if (seq < lastSeq[k]!) inversions++;
          else lastSeq[k] = seq;
          if (groups !== 0) {
            const g = producer * groups + (seq % groups);
            if (seq < lastGroupSeq[g]!) groupInversions++;
            else lastGroupSeq[g] = seq;
          }
        }
        if (seen[idx]) duplicates++;
        else {
          seen[idx] = 1;
          if (seq >= warmup) {
            const ms = performance.now() - c.readDoubleBE(8);
            latencies[timed++] = ms;
            if (seq >= steadyFrom) steady[steadyTimed++] = ms;
          }
          delivered++;
        }
        if (!noAck) ch.ack(msg);
        if (delivered === total) {
          lastDelivery = performance.now();
          allDelivered();
        }
      };
      let handler = consumed;
      if (spec.workRate !== undefined) {
        const w = worker(spec.workRate, consumed);
        workers.push(w.stop);
        handler = w.handler;
      }
      await ch.consume(consumeFrom(nq > 1 ? i : 0), handler, { noAck });
    }
  };

  if (spec.failure === 'dlx') {
    // The failing worker: every delivery is rejected without requeue, so dead-lettered.
    const ch = await (await open()).createChannel();
    await ch.prefetch(spec.prefetch);
    await ch.consume(spec.queue, (msg) => msg && ch.nack(msg, false, false));
  }
  if (spec.tx !== undefined) await txWorker(await open(), spec.queue, out, spec.tx);
  if (!spec.backlog) await startConsumers();
  const stopScrapers = spec.scrape === undefined ? undefined : startScrapers(spec.scrape);
  const t0 = performance.now();
  let confirmed = 0;
  const perProducerRate = spec.rate > 0 ? spec.rate / spec.producers : 0;
  const publishOne = async (p: number): Promise<void> => {
    const conn = nq > 1 ? pool[p % nconn]! : await open();
    const plain = spec.plain === true;
    const ch = plain ? await conn.createChannel() : await conn.createConfirmChannel();
    const q = queueName(nq > 1 ? p : 0);
    let outstanding = 0;
    let wake: (() => void) | undefined;
    const onConfirm = (err: unknown): void => {
      if (err) throw new Error('publish nacked');
      outstanding--;
      confirmed++;
      if (wake) {
        const w = wake;
        wake = undefined;
        w();
      }
    };
    const send = (seq: number): boolean => {
      if (plain) return ch.publish('', q, body(spec.size, p, seq), { persistent: true });
      outstanding++;
      const every = spec.dedupEvery;
      const options: amqp.Options.Publish = { persistent: true };
      if (levels !== 0) options.priority = priorityOf(seq, levels);
      const headers: Record<string, unknown> = {};
      if (groups !== 0) headers['x-group-id'] = `g${seq % groups}`;
      // A spread that is not monotonic in seq: the exchange reorders by due time.
      if (spec.delayMs !== undefined) headers['x-delay'] = (seq * 7919) % (spec.delayMs + 1);
      if (every !== undefined) headers['x-deduplication-header'] = `${p}-${seq}`;
      if (Object.keys(headers).length !== 0) options.headers = headers;
      const exchange = spec.delayMs === undefined ? '' : delayed;
      let ok = ch.publish(exchange, q, body(spec.size, p, seq), options, onConfirm);
      if (every !== undefined && seq % every === every - 1) {
        // The retry of the previous message: counted as a publish, never delivered.
        outstanding++;
        const retry = {
          persistent: true,
          headers: { 'x-deduplication-header': `${p}-${seq - 1}` },
        };
        ok = ch.publish(exchange, q, body(spec.size, p, seq - 1), retry, onConfirm);
      }
      return ok;
    };
    if (perProducerRate > 0 && spec.pacing === 'timer') {
      // A tick that finds the confirm window full sends nothing (amqplib buffers the rest).
      const perTick = Math.max(1, Math.round(perProducerRate / 1000));
      let seq = 0;
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          for (let k = 0; k < perTick && seq < spec.messages && outstanding < spec.window; k++)
            send(seq++);
          if (seq === spec.messages) {
            clearInterval(t);
            resolve();
          }
        }, 1);
      });
    } else {
      const start = performance.now();
      for (let seq = 0; seq < spec.messages; seq++) {
        if (perProducerRate > 0) {
          const due = start + (seq * 1000) / perProducerRate;
          const wait = due - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        }
        while (outstanding >= spec.window) await new Promise<void>((r) => (wake = r));
        if (!send(seq)) await new Promise<void>((r) => ch.once('drain', () => r()));
      }
    }
    while (outstanding > 0) await new Promise<void>((r) => (wake = r));
  };
  await Promise.all(Array.from({ length: producerCount }, (_, p) => publishOne(p)));
  const tPublished = performance.now();
  let tDrainStart = tPublished;
  if (spec.backlog) {
    tDrainStart = performance.now();
    await startConsumers();
  }
  await done;
  for (const stop of workers) stop();
  const cpu = process.cpuUsage(cpu0);
  const scrapes = await stopScrapers?.();
  // Leave the broker as we found it: leftover queues would slow later runs (on either broker).
  const cleanup = await (pool[0] ?? conns[0]!).createChannel();
  for (let i = 0; i < nq; i++) await cleanup.deleteQueue(queueName(i));
  if (spec.failure !== undefined) await cleanup.deleteQueue(dlq);
  if (spec.delayMs !== undefined) await cleanup.deleteExchange(delayed);
  if (spec.tx !== undefined) await cleanup.deleteQueue(out);
  for (const c of conns) await c.close().catch(() => {});
  const sorted = latencies.slice(0, timed).sort();
  const publishSeconds = (tPublished - t0) / 1000;
  const totalSeconds = (lastDelivery - t0) / 1000;
  const drainSeconds = (lastDelivery - tDrainStart) / 1000;
  let missing = 0;
  for (let i = 0; i < total; i++) if (!seen[i]) missing++;
  return {
    published: total,
    confirmed,
    delivered,
    duplicates,
    missing,
    inversions,
    groupInversions,
    publishSeconds,
    totalSeconds,
    drainSeconds,
    publishRate: total / publishSeconds,
    endToEndRate: total / totalSeconds,
    // Without a backlog the last delivery can come before the last confirm.
    drainRate: drainSeconds > 0 ? total / drainSeconds : NaN,
    latencyMs: latencySummary(sorted),
    steadyLatencyMs: latencySummary(steady.slice(0, steadyTimed).sort()),
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...(scrapes === undefined ? {} : { scrapes }),
  };
}

/** amqplib has no tx API in its channel model: tx.* by its generic rpc (AMQP method ids). */
type Rpc = { rpc(method: number, fields: object, expect: number): Promise<unknown> };
const TX_SELECT = 0x005a000a;
const TX_COMMIT = 0x005a0014;

/**
 * The transactional worker: batches of up to `batch` deliveries, each republished to `to`,
 * acked and committed; nothing of the next batch is sent before the commit is answered.
 */
async function txWorker(
  conn: amqp.ChannelModel,
  from: string,
  to: string,
  batch: number,
): Promise<void> {
  const ch = await conn.createChannel();
  const rpc = ch as unknown as Rpc;
  await rpc.rpc(TX_SELECT, {}, TX_SELECT + 1);
  await ch.prefetch(Math.max(batch, 10));
  const inbox: amqp.ConsumeMessage[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  ch.on('close', () => {
    closed = true;
    wake?.();
  });
  await ch.consume(from, (m) => {
    if (m === null) return;
    inbox.push(m);
    wake?.();
  });
  void (async () => {
    while (!closed) {
      if (inbox.length === 0) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const step = inbox.splice(0, batch);
      for (const m of step) ch.sendToQueue(to, m.content, { persistent: true });
      ch.ack(step.at(-1)!, true);
      await rpc.rpc(TX_COMMIT, {}, TX_COMMIT + 1);
    }
  })().catch(() => {});
}

/**
 * Runs `run` on the spec in argv[2] and prints its result as one JSON line, when the process
 * was started as `script` (the other load files import this one, so the name must match).
 */
export function mainOf(script: string, run: (spec: LoadSpec) => Promise<LoadResult>): void {
  if (process.argv[1] === undefined || basename(process.argv[1]) !== script || !process.argv[2])
    return;
  run(JSON.parse(process.argv[2]) as LoadSpec).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${script}: load failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
}

mainOf('load.js', runLoad);
