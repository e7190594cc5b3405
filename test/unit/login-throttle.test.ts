/** The failed-login throttle (core/access/login-throttle.ts) on a fake clock and a fake sleep. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginThrottle, type LoginThrottleSettings } from '../../src/core/access/login-throttle.js';

class Refused extends Error {}

/** A throttle whose sleeps wait until the test releases them, on a clock the test moves. */
function fake(settings: Partial<LoginThrottleSettings> = {}) {
  let now = 1_000_000;
  const sleeps: { ms: number; wake: () => void }[] = [];
  const throttle = new LoginThrottle({
    settings: { threshold: 3, baseDelayMs: 100, maxDelayMs: 1000, quietMs: 60_000, ...settings },
    now: () => now,
    sleep: (ms) => new Promise<void>((wake) => sleeps.push({ ms, wake })),
  });
  const warned: string[] = [];
  throttle.onThrottled = (peer, failures) => warned.push(`${peer}:${failures}`);
  return {
    throttle,
    sleeps,
    warned,
    advance: (ms: number) => (now += ms),
    wrong: () => {
      throw new Refused('wrong password');
    },
    right: () => 'ok',
    refusal: () => new Refused('refused'),
  };
}

void test('below the threshold logins are answered at once, synchronously', () => {
  const f = fake();
  for (let i = 0; i < 2; i++)
    assert.throws(() => f.throttle.attempt('10.0.0.1', f.wrong, f.refusal), Refused);
  assert.equal(f.throttle.attempt('10.0.0.1', f.right, f.refusal), 'ok');
  assert.equal(f.throttle.delayFor('10.0.0.1'), 0);
  assert.equal(f.sleeps.length, 0);
});

void test('from the threshold on every attempt waits, doubling per failure up to the maximum', async () => {
  const f = fake();
  for (let i = 0; i < 3; i++) assert.throws(() => f.throttle.attempt('a', f.wrong, f.refusal));
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    waits.push(f.throttle.delayFor('a'));
    const p = f.throttle.attempt('a', f.wrong, f.refusal);
    assert.ok(p instanceof Promise, 'a throttled attempt is answered later');
    assert.equal(f.sleeps.at(-1)!.ms, waits.at(-1));
    f.sleeps.at(-1)!.wake();
    await assert.rejects(p, Refused);
  }
  assert.deepEqual(waits, [100, 200, 400, 800, 1000, 1000]);
  const s = f.throttle.stats();
  assert.equal(s.delayed, 6);
  assert.equal(s.delayedMs, 3500);
  assert.equal(s.failures, 9);
  assert.deepEqual(f.warned, ['a:3'], 'one warning per episode');
});

void test('a right password waits too, succeeds after the wait, and does not reset the count', async () => {
  const f = fake();
  for (let i = 0; i < 3; i++) assert.throws(() => f.throttle.attempt('a', f.wrong, f.refusal));
  const p = f.throttle.attempt('a', f.right, f.refusal);
  assert.ok(p instanceof Promise);
  f.sleeps[0]!.wake();
  assert.equal(await p, 'ok');
  assert.equal(f.throttle.delayFor('a'), 100, 'still throttled: a success is not a reset');
});

void test('other addresses are not slowed by one that is throttled; IPv4-mapped IPv6 is the same peer', () => {
  const f = fake();
  for (let i = 0; i < 3; i++)
    assert.throws(() => f.throttle.attempt('::ffff:10.0.0.1', f.wrong, f.refusal));
  assert.equal(f.throttle.delayFor('10.0.0.1'), 100);
  assert.equal(f.throttle.attempt('10.0.0.2', f.right, f.refusal), 'ok');
});

void test('quiet time forgets an address: the next episode starts at zero and warns again', () => {
  const f = fake();
  for (let i = 0; i < 3; i++) assert.throws(() => f.throttle.attempt('a', f.wrong, f.refusal));
  assert.equal(f.throttle.delayFor('a'), 100);
  f.advance(59_999);
  assert.equal(f.throttle.delayFor('a'), 100);
  f.advance(1);
  assert.equal(f.throttle.delayFor('a'), 0);
  assert.equal(f.throttle.stats().addresses, 0);
  for (let i = 0; i < 3; i++) assert.throws(() => f.throttle.attempt('a', f.wrong, f.refusal));
  assert.deepEqual(f.warned, ['a:3', 'a:3']);
});

void test('over maxPending waiting attempts, more are refused at once with the given refusal', async () => {
  const f = fake({ maxPending: 2 });
  for (let i = 0; i < 3; i++) assert.throws(() => f.throttle.attempt('a', f.wrong, f.refusal));
  const waiting = [
    f.throttle.attempt('a', f.right, f.refusal),
    f.throttle.attempt('a', f.right, f.refusal),
  ];
  assert.throws(() => f.throttle.attempt('a', f.right, f.refusal), /refused/);
  assert.equal(f.throttle.stats().refusedPending, 1);
  for (const s of f.sleeps) s.wake();
  assert.deepEqual(await Promise.all(waiting.map((p) => Promise.resolve(p))), ['ok', 'ok']);
  // A slot is free again.
  const again = f.throttle.attempt('a', f.right, f.refusal);
  assert.ok(again instanceof Promise);
  f.sleeps.at(-1)!.wake();
  assert.equal(await again, 'ok');
});

void test('memory is bounded: past maxAddresses the address that failed longest ago is forgotten', () => {
  const f = fake({ maxAddresses: 3, threshold: 1 });
  for (const a of ['a', 'b', 'c']) assert.throws(() => f.throttle.attempt(a, f.wrong, f.refusal));
  // 'a' fails again (throttled: a refusal without waiting, by the pending cap of 0).
  f.throttle.configure({ maxPending: 0 });
  assert.throws(() => f.throttle.attempt('a', f.wrong, f.refusal), /refused/);
  f.throttle.configure({ maxPending: 10 });
  assert.throws(() => f.throttle.attempt('d', f.wrong, f.refusal));
  assert.equal(f.throttle.stats().addresses, 3);
  assert.equal(f.throttle.delayFor('b'), 0, 'b failed longest ago: forgotten');
  assert.ok(f.throttle.delayFor('a') > 0);
  assert.ok(f.throttle.delayFor('d') > 0);
});
