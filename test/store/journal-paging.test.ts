import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { RecordReader } from '../../src/store/journal/record-reader.js';
import type { MessageLocation, StoredMessage } from '../../src/store/store.js';
import { eventually, message, openJournal, recoverAll, synced } from './helpers.js';

/** Only the three numbers, as the core keeps them for a paged-out message. */
function plain(m: StoredMessage): MessageLocation {
  const l = m.location!;
  return { segment: l.segment, offset: l.offset, size: l.size };
}

/** A minimal message holding nothing but a location, as the core rebuilds one to settle it. */
function locationOnly(l: MessageLocation): StoredMessage {
  return {
    exchange: '',
    routingKey: '',
    properties: Buffer.alloc(0),
    body: undefined,
    bodySize: 0,
    priority: 0,
    expiresAt: 0,
    timestamp: 0,
    location: { ...l },
  };
}

function segFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.seg'));
}

function reads(store: JournalStore): number {
  return (store as unknown as { reader: RecordReader }).reader.reads;
}

function bodyOf(i: number): Buffer {
  // Sizes from 0 to ~3 KiB, plus a few bodies larger than the 1 MiB read-ahead window.
  const size = i % 97 === 0 ? (1 << 20) + 4099 * (i % 3) : (i * 37) % 3000;
  const b = Buffer.allocUnsafe(size);
  for (let k = 0; k < size; k++) b[k] = (i + k * 13) & 0xff;
  return b;
}

void it('readPaged round-trips every field across segments, from plain-object locations', async (t) => {
  const j = await openJournal(t, { segmentSize: 64 * 1024, compactRatio: 0 });
  await recoverAll(j.store);
  const sent: { m: StoredMessage; loc: MessageLocation; queues: number[]; seqs: number[] }[] = [];
  for (let i = 1; i <= 400; i++) {
    const m = message(bodyOf(i), `rk.${i}.é`, i % 10);
    m.exchange = i % 2 === 0 ? 'amq.topic' : '';
    m.properties = Buffer.from([0x90, 0x00, i & 0xff, 2]);
    m.expiresAt = i % 3 === 0 ? 1_700_000_000_000 + i : 0;
    const queues = i % 5 === 0 ? [1, 2, 3] : [1];
    const seqs = queues.map((q) => i * 10 + q);
    j.store.enqueue(m, queues, seqs);
    sent.push({ m, loc: plain(m), queues, seqs });
  }
  await synced(j.store);
  assert.ok(segFiles(j.dir).length > 10, 'the messages span many segments');
  const check = (store: JournalStore, s: (typeof sent)[number], loc: MessageLocation): void => {
    for (let k = 0; k < s.queues.length; k++) {
      assert.equal(store.isReadable(loc), true);
      const { message: got, seq } = store.readPaged(loc, s.queues[k]!);
      assert.equal(seq, s.seqs[k]);
      assert.equal(got.exchange, s.m.exchange);
      assert.equal(got.routingKey, s.m.routingKey);
      assert.deepEqual(got.properties, s.m.properties);
      assert.deepEqual(got.body, s.m.body);
      assert.equal(got.bodySize, s.m.bodySize);
      assert.equal(got.priority, s.m.priority);
      assert.equal(got.expiresAt, s.m.expiresAt);
      assert.deepEqual({ ...got.location! }, { ...loc });
      // A private copy: it pins no read-ahead window and changing it changes nothing stored.
      assert.ok(got.body!.buffer.byteLength <= Math.max(8192, got.body!.length));
      if (got.body!.length > 0) got.body![0] = got.body![0]! ^ 0xff;
    }
    assert.throws(() => store.readPaged(loc, 99), /queue 99 is not among/);
  };
  for (const s of sent) check(j.store, s, s.loc);
  // The location is the whole record: one read of `size` bytes at `offset` gets it.
  const l = sent[3]!.loc;
  assert.equal(l.size, j.store.readPaged(l, 1).message.location!.size);
  // After a restart with no body budget, recovery hands over locations only; readPaged reads
  // every message back from them, in reverse order too.
  await j.store.close();
  const store = await JournalStore.open({ dir: j.dir, bodyBudget: 0, segmentSize: 64 * 1024 });
  t.after(() => store.close());
  const r = await recoverAll(store);
  assert.equal(r.messages.length, 400 + 80 * 2);
  const q1 = r.messages.filter((m) => m.queueId === 1);
  for (const m of q1) assert.equal(m.message.body, undefined);
  for (let i = q1.length - 1; i >= 0; i--) {
    const m = q1[i]!;
    assert.deepEqual({ ...m.message.location! }, { ...sent[i]!.loc });
    check(store, sent[i]!, { ...m.message.location! });
  }
});

void it('sequential readPaged over 10k records is served from read-ahead windows', async (t) => {
  const j = await openJournal(t, { segmentSize: 4 << 20 });
  await recoverAll(j.store);
  const locs: MessageLocation[] = [];
  for (let i = 1; i <= 10_000; i++) {
    const body = Buffer.alloc(1024, i & 0xff);
    body.writeUInt32LE(i, 0);
    const m = message(body);
    j.store.enqueue(m, [7], [i]);
    locs.push(plain(m));
    if (i % 1000 === 0) await synced(j.store);
  }
  await synced(j.store);
  const before = reads(j.store);
  const scratch = { segment: 0, offset: 0, size: 0 };
  for (let i = 0; i < locs.length; i++) {
    // The core reuses one scratch object: readPaged must not keep it.
    scratch.segment = locs[i]!.segment;
    scratch.offset = locs[i]!.offset;
    scratch.size = locs[i]!.size;
    const { message: m, seq } = j.store.readPaged(scratch, 7);
    assert.equal(seq, i + 1);
    assert.equal(m.body!.readUInt32LE(0), i + 1);
    assert.notEqual(m.location, scratch);
  }
  const preads = reads(j.store) - before;
  // ~10.6 MB of records in 1 MiB windows.
  assert.ok(preads <= 20, `${preads} preads for 10k sequential records`);
});

void it('settle and purge with plain-object locations keep live counts right; segments go', async (t) => {
  const j = await openJournal(t, { segmentSize: 8 * 1024, compactRatio: 0 });
  const store = j.store;
  await recoverAll(store);
  const locs: { loc: MessageLocation; queues: number[]; seq: number }[] = [];
  for (let i = 1; i <= 300; i++) {
    const m = message(`message ${i}`.padEnd(100, '.'));
    const queues = i % 4 === 0 ? [1, 2] : [1];
    store.enqueue(
      m,
      queues,
      queues.map(() => i),
    );
    locs.push({ loc: plain(m), queues, seq: i });
  }
  await synced(store);
  const files = segFiles(j.dir).length;
  assert.ok(files >= 5, `${files} segments`);
  assert.equal(store.stats().liveMessages, 375);
  // Queue 1: settle each message through a fresh plain object (twice: the second is a no-op).
  for (const { loc, seq } of locs) {
    store.settle(1, seq, locationOnly(loc));
    store.settle(1, seq, locationOnly(loc));
  }
  assert.equal(store.stats().liveMessages, 75);
  await synced(store);
  // Queue 2's copies still pin their segments.
  assert.ok(segFiles(j.dir).length >= files - 1);
  // Queue 2: purge, handing over location-only messages.
  const q2 = locs.filter((l) => l.queues.includes(2)).map((l) => locationOnly(l.loc));
  store.purge(2, 300, q2);
  assert.equal(store.stats().liveMessages, 0);
  await synced(store);
  await eventually(() => assert.ok(segFiles(j.dir).length <= 2, segFiles(j.dir).join()));
  const again = await j.reopen();
  assert.equal((await recoverAll(again)).messages.length, 0);
});

void it('stale locations of records compaction moved still settle and read', async (t) => {
  const j = await openJournal(t, { segmentSize: 4096 });
  const store = j.store;
  await recoverAll(store);
  const long: MessageLocation[] = [];
  for (let i = 1; i <= 5; i++) {
    const m = message(`long-lived ${i}`);
    store.enqueue(m, i === 5 ? [1, 2] : [1], i === 5 ? [i, i] : [i]);
    long.push(plain(m));
  }
  const first = long[0]!.segment;
  for (let i = 1; i <= 600; i++) {
    const m = message(`short ${i}`.padEnd(80, '.'));
    store.enqueue(m, [4], [i]);
    store.settle(4, i, m);
    if (i % 50 === 0) await synced(store);
  }
  await synced(store);
  await eventually(() => {
    assert.ok(store.stats().compactions >= 1, 'compaction ran');
    assert.ok(store.segments[0]!.id > first, 'the first segment is gone');
  });
  const retired = (store as unknown as { retired: Map<number, unknown> }).retired;
  assert.ok(retired.has(first), 'the deleted segment forwards to the copies');
  for (let i = 0; i < 5; i++) {
    assert.equal(store.isReadable(long[i]!), true);
    const got = store.readPaged(long[i]!, 1);
    assert.equal(got.seq, i + 1);
    assert.equal(got.message.body!.toString(), `long-lived ${i + 1}`);
    assert.notEqual(got.message.location!.segment, first);
  }
  assert.equal(store.stats().liveMessages, 6);
  // Settle through the stale (pre-compaction) locations.
  for (let i = 0; i < 5; i++) store.settle(1, i + 1, locationOnly(long[i]!));
  store.purge(2, 5, [locationOnly(long[4]!)]);
  assert.equal(store.stats().liveMessages, 0);
  await synced(store);
  // More traffic: the copies' segments go too, and with them the forwarding tables.
  for (let i = 601; i <= 1200; i++) {
    const m = message(`short ${i}`.padEnd(80, '.'));
    store.enqueue(m, [4], [i]);
    store.settle(4, i, m);
    if (i % 50 === 0) await synced(store);
  }
  await synced(store);
  await eventually(() => {
    assert.ok(segFiles(j.dir).length <= 3, segFiles(j.dir).join());
    assert.equal(retired.size, 0);
  });
  assert.throws(() => store.isReadable(long[0]!), /not in the journal any more/);
  const again = await j.reopen();
  assert.equal((await recoverAll(again)).messages.length, 0);
});

void it('isReadable is false until the batch is written, true after afterSync', async (t) => {
  const j = await openJournal(t);
  const store = j.store;
  await recoverAll(store);
  const a = message('a');
  store.enqueue(a, [1], [1]);
  assert.equal(store.isReadable(plain(a)), false);
  assert.throws(() => store.readPaged(plain(a), 1), /not written yet/);
  await synced(store);
  assert.equal(store.isReadable(plain(a)), true);
  // A record of the next batch, in the same segment, while the first is readable.
  const b = message('b');
  store.enqueue(b, [1], [2]);
  assert.equal(store.isReadable(plain(b)), false);
  assert.equal(store.isReadable(plain(a)), true);
  assert.equal(store.readPaged(plain(a), 1).message.body!.toString(), 'a');
  let readableInCallback = false;
  store.afterSync(() => (readableInCallback = store.isReadable(plain(b))));
  await synced(store);
  assert.equal(readableInCallback, true);
  assert.equal(store.readPaged(plain(b), 1).seq, 2);
});

void it('recovery reports the highest seq ever recorded per queue', async (t) => {
  const j = await openJournal(t);
  let store = j.store;
  await recoverAll(store);
  const ms = [1, 2, 3].map((i) => message(`m${i}`));
  ms.forEach((m, i) => store.enqueue(m, [1], [i + 1]));
  store.enqueue(message('fan'), [5, 6], [40, 9]);
  await synced(store);
  ms.forEach((m, i) => store.settle(1, i + 1, m));
  store.settle(1, 11, message('never enqueued'));
  store.purge(2, 42, []);
  store.markDelivered(3, 7);
  await synced(store);
  store = await j.reopen();
  const sizes: [number, number][] = [];
  const counted = new Map<number, number>();
  await store.recover({
    definition() {},
    queue: (queueId, messages) => sizes.push([queueId, messages]),
    message: (m) => counted.set(m.queueId, (counted.get(m.queueId) ?? 0) + 1),
  });
  // The optional queue callback announces how many messages each queue gets, before them.
  assert.deepEqual(sizes, [...counted]);
  assert.deepEqual(sizes, [
    [5, 1],
    [6, 1],
  ]);
  store = await j.reopen();
  const r = await recoverAll(store);
  assert.deepEqual(
    [...r.stats.queueSeqs].sort((x, y) => x[0] - y[0]),
    [
      [1, 11],
      [2, 42],
      [3, 7],
      [5, 40],
      [6, 9],
    ],
  );
  assert.equal(r.stats.maxQueueId, 6);
  assert.equal(r.messages.length, 2);
});

void it('readPaged CRC-checks what it reads: damage is a StoreCorruptError naming file and offset', async (t) => {
  const j = await openJournal(t, { segmentSize: 16 * 1024 });
  await recoverAll(j.store);
  const ms = Array.from({ length: 50 }, (_, i) => message(`body ${i}`.padEnd(500, '.')));
  ms.forEach((m, i) => j.store.enqueue(m, [1], [i + 1]));
  await synced(j.store);
  const victim = plain(ms[20]!);
  await j.store.close();
  const store = await JournalStore.open({ dir: j.dir, bodyBudget: 0, segmentSize: 16 * 1024 });
  t.after(() => store.close());
  const r = await recoverAll(store);
  assert.equal(r.messages.length, 50);
  // Flip one body byte on disk after recovery checked it.
  const file = join(j.dir, segFiles(j.dir).sort()[victim.segment - 1]!);
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from('#'), 0, 1, victim.offset + victim.size - 10);
  closeSync(fd);
  assert.throws(
    () => store.readPaged(victim, 1),
    (err: Error & { code?: string; file?: string; offset?: number }) => {
      assert.equal(err.code, 'BATON_STORE_CORRUPT');
      assert.equal(err.file, file);
      assert.equal(err.offset, victim.offset);
      return true;
    },
  );
  // Its neighbours read fine.
  assert.equal(store.readPaged(plain(r.messages[21]!.message), 1).seq, 22);
});
