/**
 * Load with producers and consumers in separate processes, so one client process's CPU is not
 * what is measured. `node dist/bench/split-load.js produce|consume '<json SplitSpec>'`.
 * Consumers print `{"delivered":n}` progress lines and, after "stop" on stdin, a final line
 * with their seen-bitmap and latencies (base64). Producers connect, print `{"ready":true}`,
 * start on "go" on stdin (so every producer is connected when the clock starts) and print one
 * result line.
 */
import amqp from 'amqplib';

export interface SplitSpec {
  url: string;
  queue: string;
  /** This producer's index and how many producers there are (ids are index*messages+seq). */
  producer: number;
  producers: number;
  messages: number;
  size: number;
  prefetch: number;
  window: number;
}

const now = (): number => performance.timeOrigin + performance.now();

async function produce(spec: SplitSpec): Promise<void> {
  const conn = await amqp.connect(spec.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(spec.queue, { durable: true });
  process.stdout.write('{"ready":true}\n');
  await new Promise((r) => process.stdin.once('data', r));
  // An open stdin would keep this process (and so the runner, through its pipes) alive.
  process.stdin.destroy();
  let outstanding = 0;
  let wake: (() => void) | undefined;
  const onConfirm = (err: unknown): void => {
    if (err) throw new Error('publish nacked');
    outstanding--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const cpu0 = process.cpuUsage();
  const start = now();
  for (let seq = 0; seq < spec.messages; seq++) {
    while (outstanding >= spec.window) await new Promise<void>((r) => (wake = r));
    outstanding++;
    const b = Buffer.alloc(Math.max(spec.size, 16));
    b.writeUInt32BE(spec.producer, 0);
    b.writeUInt32BE(seq, 4);
    b.writeDoubleBE(now(), 8);
    if (!ch.publish('', spec.queue, b, { persistent: true }, onConfirm))
      await new Promise<void>((r) => ch.once('drain', () => r()));
  }
  while (outstanding > 0) await new Promise<void>((r) => (wake = r));
  const end = now();
  const cpu = process.cpuUsage(cpu0);
  await conn.close();
  process.stdout.write(JSON.stringify({ start, end, cpu: (cpu.user + cpu.system) / 1e6 }) + '\n');
}

async function consume(spec: SplitSpec): Promise<void> {
  const total = spec.producers * spec.messages;
  const seen = new Uint8Array(total);
  const latencies = new Float64Array(total);
  let delivered = 0;
  let duplicates = 0;
  let last = 0;
  const conn = await amqp.connect(spec.url);
  const ch = await conn.createChannel();
  await ch.assertQueue(spec.queue, { durable: true });
  await ch.prefetch(spec.prefetch);
  const cpu0 = process.cpuUsage();
  await ch.consume(spec.queue, (msg) => {
    if (msg === null) return;
    const c = msg.content;
    const idx = c.readUInt32BE(0) * spec.messages + c.readUInt32BE(4);
    if (seen[idx]) duplicates++;
    else {
      seen[idx] = 1;
      last = now();
      latencies[delivered++] = last - c.readDoubleBE(8);
    }
    ch.ack(msg);
  });
  process.stdout.write('{"ready":true}\n');
  const progress = setInterval(
    () => process.stdout.write(JSON.stringify({ delivered }) + '\n'),
    100,
  );
  process.stdin.once('data', () => {
    clearInterval(progress);
    const cpu = process.cpuUsage(cpu0);
    void conn.close().finally(() => {
      process.stdout.write(
        JSON.stringify({
          final: true,
          delivered,
          duplicates,
          last,
          cpu: (cpu.user + cpu.system) / 1e6,
          seen: Buffer.from(seen).toString('base64'),
          latencies: Buffer.from(latencies.buffer, 0, delivered * 8).toString('base64'),
        }) + '\n',
        // A pipe write is asynchronous: exit only once the big line is out.
        () => process.exit(0),
      );
    });
  });
}

const [role, json] = process.argv.slice(2);
if (role && json) {
  const spec = JSON.parse(json) as SplitSpec;
  (role === 'produce' ? produce(spec) : consume(spec)).catch((err: unknown) => {
    process.stderr.write(`split-load ${role} failed: ${String(err)}\n`);
    process.exit(1);
  });
}
