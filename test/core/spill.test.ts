import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileSpill } from '../../src/store/spill/file-spill.js';
import {
  collectingSession,
  eventually,
  msg,
  newBroker,
  openBroker,
  synced,
  tick,
} from '../helpers/core.js';

const spillFiles = (dir: string): string[] =>
  existsSync(join(dir, 'transient')) ? readdirSync(join(dir, 'transient')) : [];

void test('spill: a transient flood past the body budget stays on disk and drains in order, once', async (t) => {
  const { broker, dir } = await openBroker(t, { bodyBudget: 32 * 1024, spillFileSize: 64 * 1024 });
  const { session, received } = collectingSession(broker);
  const v = broker.vhost();
  v.declareQueue('flood', { durable: false }, undefined);
  const N = 5000;
  const pad = 'x'.repeat(1000);
  for (let i = 0; i < N; i++) session.publish('', 'flood', msg(`${i}:${pad}`, false));
  // Nothing past the budget (plus one message) is held in memory.
  assert.ok(broker.bodies.bytes <= 32 * 1024 + 1010, `bodies in memory: ${broker.bodies.bytes}`);
  assert.equal(v.getQueue('flood', undefined).messageCount, N);
  assert.ok(spillFiles(dir).length > 10, `spill files: ${spillFiles(dir).length}`);
  const s = broker.spill.stats();
  assert.ok(s.messages > N - 100 && s.bytesWritten > 0, JSON.stringify(s));

  session.consume('flood', { prefetch: 200 });
  const order: number[] = [];
  await eventually(async () => {
    for (const r of received.splice(0)) {
      order.push(Number(r.body.split(':')[0]));
      assert.equal(r.body.length, String(order.at(-1)).length + 1 + pad.length);
      session.ack(r.tag, false);
    }
    await tick();
    assert.equal(order.length, N);
  });
  assert.deepEqual(
    order,
    Array.from({ length: N }, (_, i) => i),
  );
  // Read files are deleted as the queue gets past them; the last one once the queue is empty.
  assert.deepEqual(spillFiles(dir), []);
  assert.equal(broker.spill.stats().files, 0);
});

void test('spill: persistent and transient messages interleaved in one durable queue stay FIFO', async (t) => {
  const { broker, dir } = await openBroker(t, {
    bodyBudget: 16 * 1024,
    segmentSize: 128 * 1024,
    spillFileSize: 32 * 1024,
  });
  const { session, received } = collectingSession(broker);
  broker.vhost().declareQueue('mix', { durable: true }, undefined);
  const N = 3000;
  for (let i = 0; i < N; i++) {
    // Runs of each kind, so both the journal's paging and the spill are crossed repeatedly.
    session.publish('', 'mix', msg(`${i}:${'m'.repeat(500)}`, Math.floor(i / 7) % 2 === 0));
    if (i % 400 === 0) await synced(broker);
  }
  await synced(broker);
  assert.ok(spillFiles(dir).length > 0);
  session.consume('mix', { prefetch: 50 });
  const order: number[] = [];
  const persistentSeen: boolean[] = [];
  await eventually(async () => {
    for (const r of received.splice(0)) {
      order.push(Number(r.body.split(':')[0]));
      persistentSeen.push(r.entry.message.persistent);
      session.ack(r.tag, false);
    }
    await tick();
    assert.equal(order.length, N);
  });
  assert.deepEqual(
    order,
    Array.from({ length: N }, (_, i) => i),
  );
  assert.deepEqual(
    persistentSeen,
    order.map((i) => Math.floor(i / 7) % 2 === 0),
  );
  assert.deepEqual(spillFiles(dir), []);
});

void test('spill: requeued spilled messages come back first, marked redelivered', async (t) => {
  const { broker } = await openBroker(t, { bodyBudget: 4 * 1024, spillFileSize: 16 * 1024 });
  const { session } = collectingSession(broker);
  broker.vhost().declareQueue('rq', { durable: false }, undefined);
  for (let i = 0; i < 200; i++) session.publish('', 'rq', msg(`${i}:${'r'.repeat(300)}`, false));
  const taken = [];
  for (let i = 0; i < 100; i++) taken.push(session.get('rq', false)!);
  assert.equal(taken[99]!.message.body!.toString().split(':')[0], '99');
  // Put back 50..99, then read everything.
  for (let i = 99; i >= 50; i--) session.nack(taken[i]!.tag, false, true);
  const after: string[] = [];
  const redelivered: boolean[] = [];
  for (;;) {
    const e = session.get('rq', true);
    if (e === undefined) break;
    after.push(e.message.body!.toString().split(':')[0]!);
    redelivered.push(e.redelivered);
  }
  assert.deepEqual(
    after,
    Array.from({ length: 150 }, (_, i) => String(i + 50)),
  );
  assert.deepEqual(
    redelivered,
    Array.from({ length: 150 }, (_, i) => i < 50),
  );
});

void test('spill: purge and delete release spilled messages and their files', async (t) => {
  const { broker, dir } = await openBroker(t, { bodyBudget: 8 * 1024, spillFileSize: 16 * 1024 });
  const { session } = collectingSession(broker);
  const v = broker.vhost();
  v.declareQueue('p', { durable: false }, undefined);
  v.declareQueue('d', { durable: true }, undefined);
  for (let i = 0; i < 500; i++) {
    session.publish('', 'p', msg(`p${i}:${'p'.repeat(400)}`, false));
    session.publish('', 'd', msg(`d${i}:${'d'.repeat(400)}`, false));
  }
  assert.ok(spillFiles(dir).some((f) => f.startsWith(`q${v.getQueue('p', undefined).id}-`)));
  assert.equal(v.purgeQueue('p', undefined), 500);
  assert.equal(v.getQueue('p', undefined).messageCount, 0);
  v.deleteQueue('d', {}, undefined);
  assert.deepEqual(spillFiles(dir), []);
  assert.equal(broker.spill.stats().files, 0);
  // The purged queue spills again from scratch.
  for (let i = 0; i < 100; i++) session.publish('', 'p', msg(`n${i}:${'n'.repeat(400)}`, false));
  assert.equal(session.get('p', true)!.message.body!.toString().split(':')[0], 'n0');
});

void test('spill: the memory store spills to a temp dir, removed on close', async (t) => {
  const broker = await newBroker({ store: 'memory', bodyBudget: 4 * 1024 });
  t.after(() => broker.close());
  const { session } = collectingSession(broker);
  broker.vhost().declareQueue('m', { durable: true }, undefined);
  // Persistent on a durable queue: "journaled" by the memory store, so spilled too.
  for (let i = 0; i < 2000; i++)
    session.publish('', 'm', msg(`${i}:${'z'.repeat(500)}`, i % 2 === 0));
  const spillDir = (broker.spill as FileSpill).dir;
  assert.ok(readdirSync(spillDir).length > 0);
  assert.equal(broker.store.stats().liveMessages, 1000);
  assert.equal(session.get('m', true)!.message.body!.toString().split(':')[0], '0');
  assert.equal(broker.vhost().purgeQueue('m', undefined), 1999);
  assert.equal(broker.store.stats().liveMessages, 0);
  await broker.close();
  assert.equal(existsSync(spillDir), false);
});

void test('spill: leftovers of a previous run are wiped at start', async (t) => {
  const { broker, dir, reopen } = await openBroker(t, { bodyBudget: 4 * 1024 });
  const { session } = collectingSession(broker);
  broker.vhost().declareQueue('t', { durable: true }, undefined);
  for (let i = 0; i < 100; i++) session.publish('', 't', msg(`${i}:${'t'.repeat(200)}`, false));
  await synced(broker);
  await broker.close();
  // As if the broker had been killed with files left behind.
  mkdirSync(join(dir, 'transient'), { recursive: true });
  writeFileSync(join(dir, 'transient', 'q1-1.spill'), 'stale');
  const b2 = await reopen();
  assert.deepEqual(spillFiles(dir), []);
  assert.equal(b2.vhost().getQueue('t', undefined).messageCount, 0);
});

void test('spill: a failed spill write keeps the messages in memory, nothing lost', async (t) => {
  const errors: string[] = [];
  const { broker, dir } = await openBroker(t, { bodyBudget: 2 * 1024, spillFileSize: 8 * 1024 });
  broker.onError = (_err, context) => errors.push(context);
  const { session } = collectingSession(broker);
  broker.vhost().declareQueue('f', { durable: false }, undefined);
  for (let i = 0; i < 50; i++) session.publish('', 'f', msg(`${i}:${'f'.repeat(500)}`, false));
  // New files cannot be created once the directory is gone.
  rmSync(join(dir, 'transient'), { recursive: true, force: true });
  for (let i = 50; i < 200; i++) session.publish('', 'f', msg(`${i}:${'f'.repeat(500)}`, false));
  assert.ok(
    errors.some((e) => /write failed/.test(e)),
    errors.join('\n'),
  );
  const got: number[] = [];
  for (;;) {
    const e = session.get('f', true);
    if (e === undefined) break;
    got.push(Number(e.message.body!.toString().split(':')[0]));
  }
  // The files already written were deleted with the directory: their messages are lost and
  // reported; everything after (kept in memory) comes back in order.
  assert.ok(got.length >= 150, `got ${got.length}`);
  assert.deepEqual(
    got.slice(-150),
    Array.from({ length: 150 }, (_, i) => i + 50),
  );
});
