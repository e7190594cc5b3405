/**
 * Failed-login throttling per peer (issue 13 item 6) over AMQP and HTTP basic auth. The
 * broker's own counters say how many attempts waited and for how long in total; nothing here
 * measures wall-clock time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { AMQP_0_9_1, MethodId, RawClient } from '../helpers/amqp-raw.js';
import { startBroker } from '../helpers/server.js';

const FAST = { threshold: 5, baseDelayMs: 2, maxDelayMs: 16 };

void test('50 wrong passwords from one peer over AMQP: from the 6th on each waits, doubling up to the maximum; a right one after still logs in', async (t) => {
  const { server, port, url } = await startBroker(t);
  const throttle = server.broker.logins;
  throttle.configure(FAST);
  for (let i = 0; i < 50; i++)
    await assert.rejects(amqp.connect(`amqp://guest:wrong-${i}@127.0.0.1:${port}`), /403/);
  const s = throttle.stats();
  assert.equal(s.failures, 50);
  assert.equal(s.delayed, 45, 'every attempt after the 5th waited');
  // 2 + 4 + 8 + 16 * 42: doubling from the base, capped at the maximum.
  assert.equal(s.delayedMs, 2 + 4 + 8 + 16 * 42);
  assert.ok(s.delayedMs >= 45 * FAST.baseDelayMs);
  assert.equal(throttle.delayFor('127.0.0.1'), FAST.maxDelayMs);
  // The right password waits its turn too, then logs in.
  const conn = await amqp.connect(url);
  await conn.close();
  assert.equal(throttle.stats().delayed, 46);
});

void test('a throttled start-ok holds the connection: frames sent after it are not read until the refusal', async (t) => {
  const { server, port } = await startBroker(t);
  const throttle = server.broker.logins;
  throttle.configure({ threshold: 1, baseDelayMs: 200, maxDelayMs: 200 });
  await assert.rejects(amqp.connect(`amqp://guest:wrong@127.0.0.1:${port}`), /403/);
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.startOk('guest', 'wrong');
  // Sent while the login waits: had it been read, the close would be 504/505 for it.
  c.sendMethod(1, MethodId.ChannelOpen, { outOfBand: '' });
  const close = await c.expectConnectionClose();
  assert.equal(close.replyCode, 403, close.replyText);
  assert.match(close.replyText, /ACCESS_REFUSED - Login was refused/);
  await c.waitClosed();
  assert.equal(throttle.stats().delayed, 1);
});

void test('over the pending cap, further attempts from the address are refused at once with the same 403', async (t) => {
  const { server, port } = await startBroker(t);
  const throttle = server.broker.logins;
  // Long enough that the waiting attempt is still pending when the next start-ok arrives.
  throttle.configure({ threshold: 1, baseDelayMs: 5000, maxDelayMs: 5000, maxPending: 1 });
  await assert.rejects(amqp.connect(`amqp://guest:wrong@127.0.0.1:${port}`), /403/);
  const waiting = await RawClient.open(t, port);
  waiting.write(AMQP_0_9_1);
  await waiting.expectMethod(0, MethodId.ConnectionStart);
  waiting.startOk('guest', 'guest');
  // The broker has taken the waiting attempt once its counter says so.
  while (throttle.stats().delayed < 1) await new Promise((r) => setImmediate(r));
  const extra = await RawClient.open(t, port);
  extra.write(AMQP_0_9_1);
  await extra.expectMethod(0, MethodId.ConnectionStart);
  extra.startOk('guest', 'guest');
  const close = await extra.expectConnectionClose();
  assert.equal(close.replyCode, 403);
  assert.equal(throttle.stats().refusedPending, 1);
  // The waiting one, with the right password, is let in after its wait.
  await waiting.expectMethod(0, MethodId.ConnectionTune);
});

void test('HTTP basic auth is throttled by the same counter: wrong passwords wait after the threshold', async (t) => {
  const { server } = await startBroker(t, { httpPort: 0 });
  const throttle = server.broker.logins;
  throttle.configure(FAST);
  const base = `http://127.0.0.1:${server.ports.get('http')}`;
  const wrong = `Basic ${Buffer.from('guest:nope').toString('base64')}`;
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${base}/api/overview`, { headers: { authorization: wrong } });
    assert.equal(r.status, 401);
    await r.text();
  }
  assert.equal(throttle.stats().failures, 10);
  assert.equal(throttle.stats().delayed, 5);
  const ok = await fetch(`${base}/api/overview`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  });
  assert.equal(ok.status, 200);
  await ok.text();
  assert.equal(throttle.stats().delayed, 6);
});
