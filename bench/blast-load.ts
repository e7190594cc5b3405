/**
 * The `sat` scenario's load: `queues` queues, each with one producer and one consumer
 * connection of the bare client (bench/raw-amqp.ts), so the broker, not the client, is the
 * limit. Producers publish persistent messages from a pre-encoded template, `window` unconfirmed
 * at most; consumers take `prefetch` at a time and ack with multiple=true once per socket read.
 * Exactly once and in order per queue (the body carries producer, seq and send time, as in
 * load.ts). Broker CPU is read from /proc (`brokerPid`) around the message phase.
 * `node dist/bench/blast-load.js '<json LoadSpec>'`.
 */
import { mainOf, scriptResult, type LoadResult, type LoadSpec } from './load.js';
import { cpuSeconds } from './proc.js';
import { Args, BASIC, method, publishTemplate, RawConnection } from './raw-amqp.js';

/** Messages per socket write. */
const BATCH = 64;

const declare = (c: RawConnection, queue: string): Promise<Buffer> =>
  c.call(1, 50, 10, new Args().u16(0).short(queue).u8(0x02).table(), 50, 11);

export async function runBlast(spec: LoadSpec): Promise<LoadResult> {
  if (spec.brokerPid === undefined) throw new Error('blast: no broker pid in the spec');
  const nq = Math.max(1, spec.queues);
  const n = spec.messages;
  const total = nq * n;
  const size = Math.max(spec.size, 16);
  const seen = new Uint8Array(total);
  const latencies = new Float64Array(total);
  const queueName = (i: number): string => `${spec.queue}-${i}`;
  const cpu0 = process.cpuUsage();

  let delivered = 0;
  let duplicates = 0;
  let inversions = 0;
  let lastDelivery = 0;
  let allDelivered!: () => void;
  const done = new Promise<void>((r) => (allDelivered = r));
  const consumers: RawConnection[] = [];
  for (let q = 0; q < nq; q++) {
    const c = await RawConnection.open(spec.url);
    consumers.push(c);
    await declare(c, queueName(q));
    await c.call(1, BASIC, 10, new Args().u32(0).u16(spec.prefetch).u8(0), BASIC, 11);
    let next = 0;
    let unacked = 0;
    let lastTag = 0;
    c.handlers = {
      onDelivery: (tag, body) => {
        const seq = body.readUInt32BE(4);
        const id = body.readUInt32BE(0) * n + seq;
        lastTag = tag;
        unacked++;
        if (seen[id]) duplicates++;
        else {
          seen[id] = 1;
          lastDelivery = performance.now();
          latencies[delivered++] = lastDelivery - body.readDoubleBE(8);
          if (delivered === total) allDelivered();
        }
        if (seq < next) inversions++;
        next = seq + 1;
      },
      onChunkEnd: () => {
        if (unacked === 0) return;
        c.send(method(1, BASIC, 80, new Args().u64(lastTag).u8(1)));
        unacked = 0;
      },
    };
    await c.call(
      1,
      BASIC,
      20,
      new Args().u16(0).short(queueName(q)).short('').u8(0).table(),
      BASIC,
      21,
    );
  }

  const producers: RawConnection[] = [];
  for (let q = 0; q < nq; q++) {
    const c = await RawConnection.open(spec.url);
    producers.push(c);
    await c.call(1, 85, 10, new Args().u8(0), 85, 11);
    await declare(c, queueName(q));
  }

  const brokerCpu0 = cpuSeconds(spec.brokerPid);
  const t0 = performance.now();
  const publishOne = (q: number, c: RawConnection): Promise<void> =>
    new Promise((resolve, reject) => {
      const { bytes, bodyAt } = publishTemplate(queueName(q), size);
      let sent = 0;
      let confirmed = 0;
      const early = new Set<number>();
      let blocked = false;
      const pump = (): void => {
        if (blocked) return;
        while (sent < n && sent - confirmed < spec.window) {
          const k = Math.min(BATCH, n - sent, spec.window - (sent - confirmed));
          // A fresh buffer per write: the socket may still hold the last one.
          const out = Buffer.allocUnsafe(bytes.length * k);
          const now = performance.now();
          for (let i = 0; i < k; i++) {
            const at = i * bytes.length;
            bytes.copy(out, at);
            out.writeUInt32BE(q, at + bodyAt);
            out.writeUInt32BE(sent + i, at + bodyAt + 4);
            out.writeDoubleBE(now, at + bodyAt + 8);
          }
          sent += k;
          if (!c.send(out)) {
            blocked = true;
            c.socket.once('drain', () => {
              blocked = false;
              pump();
            });
            return;
          }
        }
      };
      c.handlers = {
        onConfirm: (tag, multiple) => {
          if (multiple) confirmed = Math.max(confirmed, tag);
          else if (tag === confirmed + 1) confirmed = tag;
          else early.add(tag);
          while (early.delete(confirmed + 1)) confirmed++;
          if (confirmed === n) resolve();
          else pump();
        },
        onNack: () => reject(new Error('publish nacked')),
      };
      pump();
    });
  await Promise.all(producers.map((c, q) => publishOne(q, c)));
  const tPublished = performance.now();
  await done;
  const brokerCpu = cpuSeconds(spec.brokerPid) - brokerCpu0;
  const cpu = process.cpuUsage(cpu0);
  for (const c of producers) await c.close();
  for (let q = 0; q < nq; q++) {
    const c = consumers[q]!;
    c.handlers = {};
    await c.call(1, 50, 40, new Args().u16(0).short(queueName(q)).u8(0), 50, 41);
    await c.close();
  }

  return scriptResult({
    total,
    seen,
    latencies,
    delivered,
    duplicates,
    inversions,
    t0,
    tPublished,
    lastDelivery,
    cpu,
    extra: {
      brokerCpuUsPerMessage: (brokerCpu * 1e6) / total,
      brokerUtilisation: brokerCpu / ((lastDelivery - t0) / 1000),
    },
  });
}

mainOf('blast-load.js', runBlast);
