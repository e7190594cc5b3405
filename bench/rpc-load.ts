/**
 * Request/reply load for `npm run bench`, plain amqplib so every broker sees the same client.
 * `node dist/bench/rpc-load.js respond|call '<json RpcSpec>'`.
 *
 * respond: consumes the request queue with a prefetch and manual acks, publishes each request's
 * body back to its reply-to with its correlation id, then acks it. Prints `{"ready":true}`, and
 * after "stop" on stdin a final line with how many it answered and its CPU.
 * call: one connection, one channel consuming `amq.rabbitmq.reply-to` (no-ack) and publishing
 * the requests on that same channel, `callers` requests in flight; a warm-up, then
 * `roundTrips` timed ones. Prints `{"timed":true}` when the timed part starts, then one
 * RpcCallResult line.
 */
import amqp from 'amqplib';

export interface RpcSpec {
  url: string;
  queue: string;
  /** Requests in flight at once (each caller sends its next one when its reply is in). */
  callers: number;
  /** Timed round trips, after `warmup` untimed ones. */
  roundTrips: number;
  warmup: number;
  /** Request (and echoed reply) body size in bytes, at least 8 (the request id). */
  size: number;
  /** The responder's prefetch. */
  prefetch: number;
  /**
   * TCP_NODELAY on the load's sockets. amqplib leaves Nagle on by default, and a responder's
   * ack right behind its reply then holds the next reply until the broker's delayed TCP ACK.
   */
  noDelay: boolean;
}

export interface RpcCallResult {
  sent: number;
  replies: number;
  duplicates: number;
  /** Replies whose correlation id or body did not match a request in flight. */
  mismatched: number;
  missing: number;
  seconds: number;
  /** Per timed round trip, in ms, base64 of a Float64Array. */
  latencies: string;
  cpu: number;
}

const REPLY_TO = 'amq.rabbitmq.reply-to';
/** A round trip with no reply for this long counts as missing instead of hanging the run. */
const STALL_MS = 10_000;

async function respond(spec: RpcSpec): Promise<void> {
  const conn = await amqp.connect(spec.url, { noDelay: spec.noDelay });
  const ch = await conn.createChannel();
  await ch.prefetch(spec.prefetch);
  let handled = 0;
  let cpu0 = process.cpuUsage();
  await ch.consume(spec.queue, (msg) => {
    if (msg === null) return;
    const { replyTo, correlationId } = msg.properties as {
      replyTo?: string;
      correlationId?: string;
    };
    if (replyTo !== undefined)
      ch.publish('', replyTo, msg.content, correlationId === undefined ? {} : { correlationId });
    ch.ack(msg);
    handled++;
  });
  process.stdout.write('{"ready":true}\n');
  // "mark" when the timed part starts (CPU counts from there), "stop" at the end.
  let input = '';
  const onInput = (d: Buffer): void => {
    input += d.toString();
    if (input.includes('mark\n')) {
      input = input.replace('mark\n', '');
      cpu0 = process.cpuUsage();
    }
    if (!input.includes('stop\n')) return;
    process.stdin.off('data', onInput);
    const cpu = process.cpuUsage(cpu0);
    void conn
      .close()
      .finally(() =>
        process.stdout.write(
          JSON.stringify({ final: true, handled, cpu: (cpu.user + cpu.system) / 1e6 }) + '\n',
          () => process.exit(0),
        ),
      );
  };
  process.stdin.on('data', onInput);
}

async function call(spec: RpcSpec): Promise<void> {
  const total = spec.warmup + spec.roundTrips;
  const latencies = new Float64Array(spec.roundTrips);
  const answered = new Uint8Array(total);
  const inFlight = new Map<string, { id: number; start: number; done: () => void }>();
  let replies = 0;
  let duplicates = 0;
  let mismatched = 0;
  let lastProgress = performance.now();
  const conn = await amqp.connect(spec.url, { noDelay: spec.noDelay });
  const ch = await conn.createChannel();
  await ch.consume(
    REPLY_TO,
    (msg) => {
      if (msg === null) return;
      const cid = (msg.properties as { correlationId?: string }).correlationId ?? '';
      const req = inFlight.get(cid);
      if (req === undefined) {
        const id = Number(cid);
        if (Number.isInteger(id) && id >= 0 && id < total && answered[id]) duplicates++;
        else mismatched++;
        return;
      }
      if (msg.content.length < 8 || msg.content.readDoubleBE(0) !== req.id) {
        mismatched++;
        return;
      }
      const now = performance.now();
      inFlight.delete(cid);
      answered[req.id] = 1;
      replies++;
      lastProgress = now;
      if (req.id >= spec.warmup) latencies[req.id - spec.warmup] = now - req.start;
      req.done();
    },
    { noAck: true },
  );
  let next = 0;
  let sent = 0;
  const roundTrip = (id: number): Promise<void> =>
    new Promise<void>((done) => {
      const b = Buffer.alloc(Math.max(8, spec.size));
      b.writeDoubleBE(id, 0);
      const cid = String(id);
      inFlight.set(cid, { id, start: performance.now(), done });
      sent++;
      ch.sendToQueue(spec.queue, b, { replyTo: REPLY_TO, correlationId: cid, persistent: false });
    });
  const caller = async (until: number): Promise<void> => {
    while (next < until) await roundTrip(next++);
  };
  let stalled = false;
  // A lost reply would leave its caller waiting forever: give up on whatever is still in flight.
  const watchdog = setInterval(() => {
    if (inFlight.size === 0 || performance.now() - lastProgress < STALL_MS) return;
    stalled = true;
    for (const r of inFlight.values()) r.done();
    inFlight.clear();
  }, 500);
  const run = (until: number): Promise<void[]> =>
    Promise.all(Array.from({ length: spec.callers }, () => caller(until)));
  await run(spec.warmup);
  process.stdout.write('{"timed":true}\n');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const timedFrom = replies;
  if (!stalled) await run(total);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(watchdog);
  await conn.close();
  const result: RpcCallResult = {
    sent: sent - spec.warmup,
    replies: replies - timedFrom,
    duplicates,
    mismatched,
    missing: total - replies,
    seconds,
    latencies: Buffer.from(latencies.buffer).toString('base64'),
    cpu: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

const [role, json] = process.argv.slice(2);
if ((role === 'respond' || role === 'call') && json) {
  const spec = JSON.parse(json) as RpcSpec;
  (role === 'respond' ? respond(spec) : call(spec)).catch((err: unknown) => {
    process.stderr.write(`rpc-load ${role} failed: ${String(err)}\n`);
    process.exit(1);
  });
}
