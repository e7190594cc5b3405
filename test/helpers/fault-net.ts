/**
 * Network helpers for fault tests: a recording TCP proxy (to capture what a real client sends),
 * replaying captured bytes on a fresh socket, and mutating them with zzuf.
 */
import { spawn } from 'node:child_process';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import amqp from 'amqplib';

/** A proxy on 127.0.0.1:port → 127.0.0.1:target that records each client's bytes. */
export async function recordingProxy(target: number): Promise<{
  port: number;
  /** Client → server bytes, one array of chunks per accepted connection. */
  sessions: Buffer[][];
  close: () => Promise<void>;
}> {
  const sessions: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const chunks: Buffer[] = [];
    sessions.push(chunks);
    const upstream = netConnect({ host: '127.0.0.1', port: target });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : 0,
    sessions,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Runs a complete amqplib session through a recording proxy — connect, confirm channel,
 * declare, publish `n` with confirms, consume and ack them, close — and returns what the
 * client sent, as one buffer.
 */
export async function captureAmqplibSession(brokerPort: number, n = 5): Promise<Buffer> {
  const proxy = await recordingProxy(brokerPort);
  try {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${proxy.port}?heartbeat=2`);
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('zz-capture', { exclusive: true, durable: false });
    for (let i = 0; i < n; i++)
      ch.sendToQueue(queue, Buffer.from(`capture-${i}`), {
        persistent: i % 2 === 0,
        messageId: `m-${i}`,
        headers: { i, tag: 'zzuf', nested: { a: [1, 'two', null] } },
      });
    await ch.waitForConfirms();
    let got = 0;
    await new Promise<void>((resolve) => {
      void ch.consume(queue, (m) => {
        if (m === null) return;
        ch.ack(m);
        if (++got === n) resolve();
      });
    });
    await ch.close();
    await conn.close();
  } finally {
    await proxy.close();
  }
  return Buffer.concat(proxy.sessions.flat());
}

/** How a replayed connection ended. */
export type ReplayEnd = 'closed' | 'timeout' | 'refused';

/**
 * Sends `bytes` on a fresh socket. With `halfClose` the client then ends its side (as a
 * crashed client would); otherwise it waits for the broker to close. Either way the socket is
 * destroyed after `timeoutMs` and the result is 'timeout'. Also counts what the broker sent.
 */
export function replay(
  port: number,
  bytes: Buffer,
  { halfClose, timeoutMs }: { halfClose: boolean; timeoutMs: number },
): Promise<{ end: ReplayEnd; received: number }> {
  return new Promise((resolve) => {
    let received = 0;
    let settled = false;
    const s = netConnect({ host: '127.0.0.1', port });
    const done = (end: ReplayEnd): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ end, received });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done('refused');
    });
    s.on('close', () => done('closed'));
    s.on('connect', () => {
      s.write(bytes);
      if (halfClose) s.end();
    });
  });
}

/** `zzuf -s seed -r ratio` as a filter: the mutant of `input` for this seed. */
export function zzufMutant(input: Buffer, seed: number, ratio = '0.001:0.05'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn('zzuf', ['-s', String(seed), '-r', ratio], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const out: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`zzuf exited with ${code}`)),
    );
    p.stdin.end(input);
  });
}
