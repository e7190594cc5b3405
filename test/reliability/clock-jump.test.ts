/** Wall-clock and monotonic-clock jumps under faketime, short variant (D5, D6). */
import { test } from 'node:test';
import { runClockJump } from './clock-jump.js';

void test('wall clock jumps +2 h then -1 h under faketime: no heartbeat disconnects, no crash (D5)', async (t) => {
  await runClockJump(t, {
    monotonic: false,
    offsets: ['+2h', '-1h'],
    connections: 20,
    holdMs: 3500,
  });
});

void test('monotonic clock jumps +2 h under faketime: no mass disconnect, no crash (D6)', async (t) => {
  await runClockJump(t, { monotonic: true, offsets: ['+2h'], connections: 20, holdMs: 3500 });
});
