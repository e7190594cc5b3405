/**
 * Arrival timestamps and failed-delivery counts in the journal: paged recovery, journals
 * written before timestamps existed (old ENQUEUE records), and counts that must outlive the
 * segments compaction deletes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import {
  ENQUEUE_FIXED,
  HEADER,
  PAIR,
  RecordKind,
  sealRecord,
  writeSeq,
} from '../../src/store/journal/record.js';
import type { PagedMessage, StoredMessage } from '../../src/store/store.js';
import { eventually, message, openJournal, recoverAll, synced } from './helpers.js';

const SEG = 4096;

function segFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();
}

function segName(id: number): string {
  return `${String(id).padStart(20, '0')}.seg`;
}

/** Recovered messages by queue, then seq (the visitor's queue order follows the records). */
function sorted<T extends { queueId: number; seq: number }>(ms: readonly T[]): T[] {
  return [...ms].sort((a, b) => a.queueId - b.queueId || a.seq - b.seq);
}

function paged(r: PagedMessage | Error | undefined): PagedMessage {
  if (r === undefined || r instanceof Error) throw r ?? new Error('no result');
  return r;
}

/**
 * An ENQUEUE record (kind 3) as the journal wrote it before timestamps: u8 priority, f64
 * expiresAt, u16 n, n pairs, exchange, routing key, properties, body. Sealed for `segment`.
 */
function oldEnqueue(
  segment: number,
  m: StoredMessage,
  queueIds: readonly number[],
  seqs: readonly number[],
): Buffer {
  const ex = Buffer.from(m.exchange);
  const rk = Buffer.from(m.routingKey);
  const n = queueIds.length;
  const size =
    HEADER + ENQUEUE_FIXED + n * PAIR + 2 + ex.length + 2 + rk.length + 4 + m.properties.length;
  const b = Buffer.alloc(size + m.body!.length);
  let p = HEADER;
  b[p] = m.priority;
  b.writeDoubleLE(m.expiresAt, p + 1);
  b.writeUInt16LE(n, p + 9);
  p += ENQUEUE_FIXED;
  for (let i = 0; i < n; i++, p += PAIR) {
    b.writeUInt32LE(queueIds[i]!, p);
    writeSeq(b, p + 4, seqs[i]!);
  }
  b.writeUInt16LE(ex.length, p);
  ex.copy(b, p + 2);
  p += 2 + ex.length;
  b.writeUInt16LE(rk.length, p);
  rk.copy(b, p + 2);
  p += 2 + rk.length;
  b.writeUInt32LE(m.properties.length, p);
  m.properties.copy(b, p + 4);
  p += 4 + m.properties.length;
  m.body!.copy(b, p);
  sealRecord(b, 0, b.length, RecordKind.ENQUEUE, segment);
  return b;
}

/** A SETTLE record of `pairs` ([queueId, seq, ...]) for `segment`. */
function settleRecord(segment: number, pairs: number[]): Buffer {
  const n = pairs.length / 2;
  const b = Buffer.alloc(HEADER + 4 + n * PAIR);
  b.writeUInt32LE(n, HEADER);
  for (let i = 0; i < n; i++) {
    b.writeUInt32LE(pairs[i * 2]!, HEADER + 4 + i * PAIR);
    writeSeq(b, HEADER + 8 + i * PAIR, pairs[i * 2 + 1]!);
  }
  sealRecord(b, 0, b.length, RecordKind.SETTLE, segment);
  return b;
}

/** A journal directory as the code before timestamps left it after a crash (no SEAL). */
function oldJournal(dir: string, count: number): StoredMessage[] {
  mkdirSync(dir, { recursive: true });
  const ms: StoredMessage[] = [];
  const parts: Buffer[] = [];
  for (let i = 1; i <= count; i++) {
    const m = message(`old ${i}`.padEnd(40 + i, '.'), `rk${i}`, i % 4);
    m.expiresAt = i % 2 === 0 ? 1_800_000_000_000 + i : 0;
    ms.push(m);
    // Every fifth also in queue 2; the third one is settled in queue 1.
    parts.push(i % 5 === 0 ? oldEnqueue(1, m, [1, 2], [i, i]) : oldEnqueue(1, m, [1], [i]));
  }
  parts.push(settleRecord(1, [1, 3]));
  writeFileSync(join(dir, segName(1)), Buffer.concat(parts));
  return ms;
}

void it('a journal of old ENQUEUE records (no timestamp) recovers with timestamp 0, pages and compacts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-old-journal-'));
  const old = oldJournal(dir, 40);
  const j = await openJournal(t, { dir, segmentSize: SEG, bodyBudget: 600 });
  // After openJournal's close (hooks run in the order they were added).
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let store = j.store;
  const r = await recoverAll(store);
  const q1 = r.messages.filter((m) => m.queueId === 1);
  assert.deepEqual(
    q1.map((m) => m.seq),
    Array.from({ length: 40 }, (_, i) => i + 1).filter((s) => s !== 3),
  );
  assert.deepEqual(
    r.messages.filter((m) => m.queueId === 2).map((m) => m.seq),
    [5, 10, 15, 20, 25, 30, 35, 40],
  );
  const inMemory = q1.filter((m) => m.message.body !== undefined);
  assert.ok(inMemory.length > 3 && inMemory.length < 39, 'some in memory, the rest paged out');
  for (const m of inMemory) {
    const o = old[m.seq - 1]!;
    assert.equal(m.message.timestamp, 0);
    assert.equal(m.message.body!.toString(), o.body!.toString());
    assert.equal(m.message.routingKey, o.routingKey);
    assert.equal(m.message.priority, o.priority);
    assert.equal(m.message.expiresAt, o.expiresAt);
    assert.deepEqual(m.message.properties, o.properties);
    assert.equal(m.failures, 0);
  }
  // Paged-out old records load with every field, timestamp 0.
  const got = (
    await store.load(
      q1.map((m) => m.message.location!),
      1,
    )
  ).map(paged);
  assert.deepEqual(
    got.map((p) => [p.seq, p.message.body!.toString(), p.message.expiresAt, p.message.timestamp]),
    q1.map((m) => {
      const o = old[m.seq - 1]!;
      return [m.seq, o.body!.toString(), o.expiresAt, 0];
    }),
  );
  // New messages and failure counts go after the old records, in the new format.
  const fresh: StoredMessage[] = [];
  for (let i = 1; i <= 5; i++) {
    const m = { ...message(`new ${i}`), timestamp: 1_700_000_000_000 + i };
    store.enqueue(m, [3], [i]);
    fresh.push(m);
  }
  store.recordFailures(1, 7, 2);
  store.recordFailures(3, 2, 1);
  await synced(store);
  // Settle most old messages and push traffic through: the old segment is compacted (its
  // records keep their kind) and deleted, and the counts must come along.
  for (const m of q1) if (m.seq !== 7 && m.seq !== 8) store.settle(1, m.seq, m.message);
  for (let i = 1; i <= 300; i++) {
    const m = message(`short ${i}`.padEnd(80, '.'));
    store.enqueue(m, [4], [i]);
    store.settle(4, i, m);
    if (i % 50 === 0) await synced(store);
  }
  await synced(store);
  await eventually(() => assert.ok(!segFiles(j.dir).includes(segName(1)), 'old segment deleted'));
  // Every body in memory this time: which queue compaction left first decides what fits in a
  // small budget, and a paged-out stub carries no timestamp (paging was checked above).
  store = await j.reopen({ bodyBudget: 1 << 20 });
  const r2 = await recoverAll(store);
  assert.deepEqual(
    sorted(r2.messages).map((m) => [m.queueId, m.seq, m.message.timestamp, m.failures]),
    [
      [1, 7, 0, 2],
      [1, 8, 0, 0],
      [2, 5, 0, 0],
      [2, 10, 0, 0],
      [2, 15, 0, 0],
      [2, 20, 0, 0],
      [2, 25, 0, 0],
      [2, 30, 0, 0],
      [2, 35, 0, 0],
      [2, 40, 0, 0],
      ...fresh.map((m, i) => [3, i + 1, m.timestamp, i === 1 ? 1 : 0]),
    ],
  );
  assert.equal(sorted(r2.messages)[0]!.message.body!.toString(), old[6]!.body!.toString());
});

void it('failure counts and timestamps of paged-out messages come back from recovery and load', async (t) => {
  const j = await openJournal(t, { segmentSize: 64 * 1024, bodyBudget: 50 * 100 });
  let store = j.store;
  await recoverAll(store);
  const ms: StoredMessage[] = [];
  for (let i = 1; i <= 200; i++) {
    const m = { ...message(`m${i}`.padEnd(100, '-')), timestamp: 1_700_000_000_000 + i * 7 };
    if (i % 10 === 0) store.enqueue(m, [1, 2], [i, i]);
    else store.enqueue(m, [1], [i]);
    ms.push(m);
  }
  for (let i = 3; i <= 200; i += 3) store.recordFailures(1, i, i % 7);
  for (let i = 10; i <= 200; i += 20) store.recordFailures(2, i, 100 + i);
  await synced(store);
  store = await j.reopen();
  const r = await recoverAll(store);
  const q1 = r.messages.filter((m) => m.queueId === 1);
  const q2 = r.messages.filter((m) => m.queueId === 2);
  assert.ok(
    q1.some((m) => m.message.body === undefined),
    'some are paged out',
  );
  assert.deepEqual(
    q1.map((m) => m.failures),
    ms.map((_, k) => ((k + 1) % 3 === 0 ? (k + 1) % 7 : 0)),
  );
  assert.deepEqual(
    q2.map((m) => [m.seq, m.failures]),
    ms
      .map((_, k) => k + 1)
      .filter((i) => i % 10 === 0)
      .map((i) => [i, i % 20 === 10 ? 100 + i : 0]),
  );
  for (const m of r.messages) {
    if (m.message.body !== undefined)
      assert.equal(m.message.timestamp, 1_700_000_000_000 + m.seq * 7);
  }
  const loaded = (
    await store.load(
      q1.map((m) => m.message.location!),
      1,
    )
  ).map(paged);
  assert.deepEqual(
    loaded.map((p) => p.message.timestamp),
    ms.map((m) => m.timestamp),
  );
});

void it('failure counts survive compaction deleting the segments that held them, across restarts', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG });
  let store = j.store;
  await recoverAll(store);
  const long: StoredMessage[] = [];
  for (let i = 1; i <= 3; i++) {
    const m = message(`long-lived ${i}`);
    store.enqueue(m, [1], [i]);
    long.push(m);
  }
  const fan = message('fanout');
  store.enqueue(fan, [2, 3], [1, 1]);
  await synced(store);
  const traffic = async (queue: number, n: number): Promise<void> => {
    for (let i = 1; i <= n; i++) {
      const m = message(`short ${i}`.padEnd(80, '.'));
      store.enqueue(m, [queue], [i]);
      store.settle(queue, i, m);
      if (i % 50 === 0) await synced(store);
    }
    await synced(store);
  };
  // Roll a segment or two, then record counts: their FAILURES records are in later segments
  // than the messages, and go when those are deleted.
  await traffic(4, 60);
  store.recordFailures(1, 1, 1);
  store.recordFailures(1, 1, 2);
  store.recordFailures(1, 3, 5);
  store.recordFailures(3, 1, 4);
  await synced(store);
  const countsIn = store.head.id;
  assert.ok(countsIn > 1, 'the counts are not in the first segment');
  await traffic(5, 600);
  await eventually(() => {
    assert.ok(store.stats().compactions >= 1, 'compaction ran');
    const files = segFiles(j.dir);
    assert.ok(!files.includes(segName(1)), 'first segment deleted');
    assert.ok(!files.includes(segName(countsIn)), 'the counts segment deleted');
  });
  store = await j.reopen();
  const r = await recoverAll(store);
  const view = (): [number, number, number][] =>
    sorted(r.messages).map((m) => [m.queueId, m.seq, m.failures]);
  assert.deepEqual(view(), [
    [1, 1, 2],
    [1, 2, 0],
    [1, 3, 5],
    [2, 1, 0],
    [3, 1, 4],
  ]);
  // After a restart the recovered counts are carried again (recovery rebuilt them), and new
  // ones add up; a settled message's count goes with it.
  store.recordFailures(1, 2, 1);
  store.settle(1, 3, r.messages.find((m) => m.queueId === 1 && m.seq === 3)!.message);
  await synced(store);
  const countsIn2 = store.head.id;
  const compactions = store.stats().compactions;
  await traffic(6, 600);
  await eventually(() => {
    assert.ok(store.stats().compactions > compactions, 'compaction ran again');
    assert.ok(!segFiles(j.dir).includes(segName(countsIn2)), 'the second counts segment deleted');
  });
  store = await j.reopen();
  const r2 = await recoverAll(store);
  assert.deepEqual(
    sorted(r2.messages).map((m) => [m.queueId, m.seq, m.failures, m.message.body!.toString()]),
    [
      [1, 1, 2, 'long-lived 1'],
      [1, 2, 1, 'long-lived 2'],
      [2, 1, 0, 'fanout'],
      [3, 1, 4, 'fanout'],
    ],
  );
});
