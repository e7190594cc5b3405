import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAME_HEARTBEAT, frame, MethodId, RawClient } from '../helpers/amqp-raw.js';
import { startBroker } from '../helpers/server.js';

const HEARTBEAT = frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));

/**
 * Watches what the broker sends from now on: the arrival time of every chunk (monotonic
 * clock), and answers the broker's heartbeats so it never hangs up on us.
 */
function watch(c: RawClient): { arrivals: number[]; start: number } {
  const arrivals: number[] = [];
  c.socket.on('data', () => arrivals.push(performance.now()));
  const keepAlive = setInterval(() => c.write(HEARTBEAT), 400);
  c.socket.once('close', () => clearInterval(keepAlive));
  return { arrivals, start: performance.now() };
}

/** The longest stretch with nothing from the broker, from `start` to now. */
function longestGap(arrivals: number[], start: number): number {
  let last = start;
  let longest = 0;
  for (const at of [...arrivals, performance.now()]) {
    longest = Math.max(longest, at - last);
    last = at;
  }
  return longest;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

void test('an idle connection with heartbeat=2 gets a heartbeat at least every half interval (AMQP 0-9-1 §4.2.7)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake({ heartbeat: 2 });
  const w = watch(c);
  await sleep(6000);
  const beats = c.frames.filter((f) => f.type === FRAME_HEARTBEAT && f.channel === 0).length;
  const gap = longestGap(w.arrivals, w.start);
  assert.equal(c.closed, false, 'the broker kept the connection');
  // Every second is expected (6); allow for a noisy machine.
  assert.ok(beats >= 4, `expected at least 4 heartbeats in 6 s, got ${beats}`);
  assert.ok(gap <= 1800, `the broker was silent for ${Math.round(gap)} ms (interval 2000 ms)`);
});

void test('after the broker writes just after a heartbeat tick, the next frame still follows within half an interval (AMQP 0-9-1 §4.2.7)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake({ heartbeat: 2 });
  await c.openChannel(1);
  const w = watch(c);
  // A heartbeat from the broker marks one of its ticks: make it write again right away
  // (basic.qos → qos-ok), so the write lands just after the tick.
  let provoked = 0;
  c.socket.on('data', (d: Buffer) => {
    if (d.length !== 8 || d[0] !== FRAME_HEARTBEAT) return;
    provoked++;
    c.sendMethod(1, MethodId.BasicQos, { prefetchSize: 0, prefetchCount: 1, global: false });
  });
  await sleep(7000);
  const gap = longestGap(w.arrivals, w.start);
  assert.equal(c.closed, false, 'the broker kept the connection');
  assert.ok(provoked >= 3, `expected at least 3 heartbeat-then-write rounds, got ${provoked}`);
  assert.ok(
    c.frames.filter((f) => f.method?.id === MethodId.BasicQosOk).length >= 3,
    `each round wrote a qos-ok; got ${c.describe()}`,
  );
  assert.ok(gap <= 1800, `the broker was silent for ${Math.round(gap)} ms (interval 2000 ms)`);
});
