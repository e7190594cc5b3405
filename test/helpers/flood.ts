import { readFileSync } from 'node:fs';
import type amqp from 'amqplib';

/** Peak resident set (VmHWM) of a process, in bytes, from /proc. */
export function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Publish `n` messages of `size` bytes (index in the first 8 bytes), honouring back-pressure. */
export async function flood(
  ch: amqp.Channel,
  queue: string,
  n: number,
  size: number,
  persistent: (i: number) => boolean = () => false,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const body = Buffer.alloc(size, 0x61);
    body.writeDoubleLE(i, 0);
    if (!ch.sendToQueue(queue, body, { persistent: persistent(i) }))
      await new Promise((r) => ch.once('drain', r));
  }
}

/** Wait until the queue reports `n` ready messages (the broker has read every publish). */
export async function untilCount(ch: amqp.Channel, queue: string, n: number): Promise<void> {
  for (;;) {
    const q = await ch.checkQueue(queue);
    if (q.messageCount >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Consume everything and check order and uniqueness: resolves with the count once `n` have
 * arrived; rejects on the first out-of-order or repeated index.
 */
export function drainInOrder(ch: amqp.Channel, queue: string, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let next = 0;
    void ch.prefetch(1000).then(() =>
      ch.consume(queue, (m) => {
        if (m === null) return;
        const i = m.content.readDoubleLE(0);
        if (i !== next) {
          reject(new Error(`expected message ${next}, got ${i}`));
          return;
        }
        next++;
        if (next % 500 === 0 || next === n) ch.ack(m, true);
        if (next === n) resolve(next);
      }),
    );
  });
}
