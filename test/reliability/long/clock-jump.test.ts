/** Clock jumps under faketime, long variant: more connections, more jumps, longer holds. */
import { test } from 'node:test';
import { runClockJump } from '../clock-jump.js';

const connections = Number(process.env.BATON_CLOCK_CONNECTIONS ?? 500);

void test('long: wall clock jumps back and forth under faketime (D5)', async (t) => {
  await runClockJump(t, {
    monotonic: false,
    offsets: ['+2h', '-1h', '+1d', '-1d', '+0', '+30d'],
    connections,
    holdMs: 10_000,
  });
});

void test('long: monotonic clock jumps forward under faketime (D6)', async (t) => {
  await runClockJump(t, {
    monotonic: true,
    offsets: ['+2h', '+1d', '+30d'],
    connections,
    holdMs: 10_000,
  });
});
