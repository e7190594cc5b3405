/**
 * The `tls` scenario's load: `tls.connections` AMQPS connections (one channel each) opened
 * `tls.opening` at a time — the handshake figure — then the first `producers` publish and the
 * next `consumers` consume, over `queues` queues (producer p and consumer c on queue p % queues
 * and c % queues), `messages` per producer. Exactly once overall and in order per producer as
 * each consumer sees it. Broker CPU and RSS are read from /proc (`tls.brokerPid`) around the
 * opening and the message phase. `node dist/bench/tls-load.js '<json LoadSpec>'`.
 */
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import amqp from 'amqplib';
import { body, mainOf, scriptResult, type LoadResult, type LoadSpec } from './load.js';
import { cpuSeconds, rssBytes } from './proc.js';

export async function runTls(spec: LoadSpec): Promise<LoadResult> {
  if (spec.tls?.ca === undefined || spec.tls.brokerPid === undefined)
    throw new Error('tls: no certificate or broker pid in the spec');
  const { connections, opening, brokerPid } = spec.tls;
  const ca = [readFileSync(spec.tls.ca)];
  const nq = Math.max(1, spec.queues);
  const np = spec.producers;
  const nc = spec.consumers;
  if (np + nc > connections) throw new Error('tls: more producers and consumers than connections');
  const total = np * spec.messages;
  const seen = new Uint8Array(total);
  const latencies = new Float64Array(total);
  const queueName = (i: number): string => `${spec.queue}-${i % nq}`;

  const cpu0 = process.cpuUsage();
  const brokerCpu0 = cpuSeconds(brokerPid);
  const conns = new Array<amqp.ChannelModel>(connections);
  const chans = new Array<amqp.Channel>(connections);
  let nextConn = 0;
  const tOpen0 = performance.now();
  // Producers get confirm channels; the rest plain ones (only the consumers among them are used).
  const opener = async (): Promise<void> => {
    for (let i = nextConn++; i < connections; i = nextConn++) {
      const c = await amqp.connect(spec.url, { ca });
      conns[i] = c;
      chans[i] = await (i < np ? c.createConfirmChannel() : c.createChannel());
    }
  };
  await Promise.all(Array.from({ length: Math.min(opening, connections) }, opener));
  const openSeconds = (performance.now() - tOpen0) / 1000;
  const clientCpuOpen = process.cpuUsage(cpu0);
  const brokerCpuOpen = cpuSeconds(brokerPid) - brokerCpu0;
  const rssAllOpen = rssBytes(brokerPid);
  const socket = (conns[0] as unknown as { connection: { stream: TLSSocket } }).connection.stream;
  const protocol = socket.getProtocol() ?? '?';
  const cipher = socket.getCipher().name;

  const setup = chans[np]!;
  for (let i = 0; i < nq; i++) await setup.assertQueue(queueName(i), { durable: true });

  let delivered = 0;
  let duplicates = 0;
  let inversions = 0;
  let lastDelivery = 0;
  // Per consumer and producer: a queue hands each consumer its messages in queue order.
  const lastSeq = new Int32Array(nc * np).fill(-1);
  let allDelivered: () => void = () => {};
  const done = new Promise<void>((r) => (allDelivered = r));
  for (let c = 0; c < nc; c++) {
    const ch = chans[np + c]!;
    await ch.prefetch(spec.prefetch);
    await ch.consume(queueName(c), (msg) => {
      if (msg === null) return;
      const b = msg.content;
      const producer = b.readUInt32BE(0);
      const seq = b.readUInt32BE(4);
      const idx = producer * spec.messages + seq;
      const k = c * np + producer;
      if (!msg.fields.redelivered) {
        if (seq < lastSeq[k]!) inversions++;
        else lastSeq[k] = seq;
      }
      if (seen[idx]) duplicates++;
      else {
        seen[idx] = 1;
        latencies[delivered++] = performance.now() - b.readDoubleBE(8);
      }
      ch.ack(msg);
      if (delivered === total) {
        lastDelivery = performance.now();
        allDelivered();
      }
    });
  }

  const brokerCpu1 = cpuSeconds(brokerPid);
  let rssPeak = rssBytes(brokerPid);
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(brokerPid))), 50);
  const t0 = performance.now();
  const publishOne = async (p: number): Promise<void> => {
    const ch = chans[p] as amqp.ConfirmChannel;
    const q = queueName(p);
    let outstanding = 0;
    let wake: (() => void) | undefined;
    const onConfirm = (err: unknown): void => {
      if (err) throw new Error('publish nacked');
      outstanding--;
      const w = wake;
      wake = undefined;
      w?.();
    };
    for (let seq = 0; seq < spec.messages; seq++) {
      while (outstanding >= spec.window) await new Promise<void>((r) => (wake = r));
      outstanding++;
      if (!ch.publish('', q, body(spec.size, p, seq), { persistent: true }, onConfirm))
        await new Promise<void>((r) => ch.once('drain', () => r()));
    }
    while (outstanding > 0) await new Promise<void>((r) => (wake = r));
  };
  await Promise.all(Array.from({ length: np }, (_, p) => publishOne(p)));
  const tPublished = performance.now();
  await done;
  clearInterval(sampler);
  const brokerCpuMessages = cpuSeconds(brokerPid) - brokerCpu1;
  const cpu = process.cpuUsage(cpu0);
  for (let i = 0; i < nq; i++) await setup.deleteQueue(queueName(i));
  for (const c of conns) await c?.close().catch(() => {});

  const MiB = 2 ** 20;
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
      tls: `${protocol} ${cipher}`,
      openSeconds,
      connectionsPerSecond: connections / openSeconds,
      brokerCpuMsPerConnection: (brokerCpuOpen * 1000) / connections,
      clientCpuMsPerConnection: (clientCpuOpen.user + clientCpuOpen.system) / 1000 / connections,
      rssAllOpenMiB: rssAllOpen / MiB,
      rssPeakMiB: rssPeak / MiB,
      brokerCpuUsPerMessage: (brokerCpuMessages * 1e6) / total,
    },
  });
}

mainOf('tls-load.js', runTls);
