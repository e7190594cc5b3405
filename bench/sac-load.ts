/**
 * The `sac` scenario's load: one producer and `consumers` consumers (each its own connection)
 * on a queue with x-single-active-consumer. When half the messages are in, the active
 * consumer's channel is closed and the next one in line takes over. Every message must be
 * counted exactly once, in publish order, and by one consumer at a time.
 * `node dist/bench/sac-load.js '<json LoadSpec>'`; prints one JSON line (a LoadResult).
 */
import amqp from 'amqplib';
import { body, mainOf, scriptResult, type LoadResult, type LoadSpec } from './load.js';

export async function runSac(spec: LoadSpec): Promise<LoadResult> {
  const cpu0 = process.cpuUsage();
  const total = spec.messages;
  const seen = new Uint8Array(total);
  const latencies = new Float64Array(total);
  const conns: amqp.ChannelModel[] = [];
  const open = async (): Promise<amqp.ChannelModel> => {
    const c = await amqp.connect(spec.url);
    conns.push(c);
    return c;
  };
  const setup = await (await open()).createChannel();
  await setup.assertQueue(spec.queue, {
    durable: true,
    arguments: { 'x-single-active-consumer': true },
  });

  let delivered = 0;
  let duplicates = 0;
  /** Counted deliveries whose seq is not the one after the last counted. */
  let outOfOrder = 0;
  let next = 0;
  /** A delivery on a consumer while another one, not yet closed, was the active one. */
  let overlaps = 0;
  let redelivered = 0;
  /** Deliveries that reached the closing consumer after the decision; left unacked. */
  let abandoned = 0;
  let active = -1;
  let closedAt = 0;
  let takeoverMs = NaN;
  let lastDelivery = 0;
  const perConsumer = new Array<number>(spec.consumers).fill(0);
  const closing = new Array<boolean>(spec.consumers).fill(false);
  let allDelivered: () => void = () => {};
  const done = new Promise<void>((r) => (allDelivered = r));
  let closeFailure: Error | undefined;

  // Subscribed one after another, so the broker's line is 0, 1, 2.
  for (let i = 0; i < spec.consumers; i++) {
    const ch = await (await open()).createChannel();
    await ch.prefetch(spec.prefetch);
    await ch.consume(spec.queue, (msg) => {
      if (msg === null || closing[i]) {
        if (msg !== null) abandoned++;
        return;
      }
      if (active !== i) {
        if (active >= 0 && !closing[active]) overlaps++;
        if (active >= 0 && Number.isNaN(takeoverMs)) takeoverMs = performance.now() - closedAt;
        active = i;
      }
      const c = msg.content;
      const seq = c.readUInt32BE(4);
      if (msg.fields.redelivered) redelivered++;
      if (seen[seq]) duplicates++;
      else {
        seen[seq] = 1;
        if (seq !== next) outOfOrder++;
        next = seq + 1;
        latencies[delivered++] = performance.now() - c.readDoubleBE(8);
        perConsumer[i]!++;
      }
      ch.ack(msg);
      if (delivered === Math.floor(total / 2) && closedAt === 0) {
        // The handover: its acks so far are written before channel.close, so the broker
        // settles them first and requeues only what this consumer never counted.
        closing[i] = true;
        closedAt = performance.now();
        ch.close().catch(
          (err: unknown) => (closeFailure = new Error('channel.close failed', { cause: err })),
        );
      }
      if (delivered === total) {
        lastDelivery = performance.now();
        allDelivered();
      }
    });
  }

  const t0 = performance.now();
  const ch = await (await open()).createConfirmChannel();
  let outstanding = 0;
  let wake: (() => void) | undefined;
  const onConfirm = (err: unknown): void => {
    if (err) throw new Error('publish nacked');
    outstanding--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (let seq = 0; seq < total; seq++) {
    while (outstanding >= spec.window) await new Promise<void>((r) => (wake = r));
    outstanding++;
    if (!ch.publish('', spec.queue, body(spec.size, 0, seq), { persistent: true }, onConfirm))
      await new Promise<void>((r) => ch.once('drain', () => r()));
  }
  while (outstanding > 0) await new Promise<void>((r) => (wake = r));
  const tPublished = performance.now();
  await done;
  const cpu = process.cpuUsage(cpu0);
  if (closeFailure !== undefined) throw closeFailure;
  await setup.deleteQueue(spec.queue);
  for (const c of conns) await c.close().catch(() => {});

  const used = perConsumer.filter((n) => n > 0).length;
  return scriptResult({
    total,
    seen,
    latencies,
    delivered,
    duplicates,
    // Out of order, two consumers active at once, or other than exactly two used: all fail.
    inversions: outOfOrder + overlaps + (used === 2 ? 0 : 1),
    t0,
    tPublished,
    lastDelivery,
    cpu,
    extra: {
      takeoverMs,
      redelivered,
      abandoned,
      outOfOrder,
      overlaps,
      perConsumer: perConsumer.join('/'),
    },
  });
}

mainOf('sac-load.js', runSac);
