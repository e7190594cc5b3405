import assert from 'node:assert/strict';
import { cpSync, readdirSync, readSync, statSync } from 'node:fs';
import { it } from 'node:test';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { JournalLocation } from '../../src/store/journal/segment.js';
import type { StoredMessage } from '../../src/store/store.js';
import { eventually, message, openJournal, recoverAll, synced, tempDir } from './helpers.js';

const SEG = 4096;

function segFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();
}

void it('rolls over tiny segments and deletes them once everything in them is settled', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG, compactRatio: 0 });
  let store = j.store;
  await recoverAll(store);
  store.putDefinition('queue:/:a', { name: 'a', payload: Buffer.alloc(100, 1) });
  store.putDefinition('queue:/:b', { name: 'b' });
  store.putDefinition('queue:/:gone', { name: 'gone' });
  const ms: StoredMessage[] = [];
  for (let i = 1; i <= 300; i++) {
    const m = message(`message ${i} `.padEnd(60, '-'));
    store.enqueue(m, [1], [i]);
    ms.push(m);
  }
  store.deleteDefinition('queue:/:gone');
  await synced(store);
  const rolled = segFiles(j.dir).length;
  assert.ok(rolled >= 5, `expected several segments, got ${rolled}`);
  for (const f of segFiles(j.dir)) assert.match(f, /^\d{20}\.seg$/);
  for (let i = 0; i < 300; i++) store.settle(1, i + 1, ms[i]!);
  await synced(store);
  // The head stays; every older segment goes (definitions are re-appended first).
  await eventually(() => assert.ok(segFiles(j.dir).length <= 2, segFiles(j.dir).join()));
  assert.ok(store.stats().deletedSegments >= rolled - 2);
  assert.equal(store.stats().liveMessages, 0);
  assert.equal(store.stats().compactions, 0);
  store = await j.reopen();
  const r = await recoverAll(store);
  assert.equal(r.messages.length, 0);
  assert.deepEqual([...r.definitions.keys()].sort(), ['queue:/:a', 'queue:/:b']);
  assert.deepEqual(r.definitions.get('queue:/:a'), { name: 'a', payload: Buffer.alloc(100, 1) });
  // The recovered segments hold nothing live: they are cleaned up after recovery too.
  store.enqueue(message('after'), [1], [301]);
  await synced(store);
  await eventually(() => assert.equal(segFiles(j.dir).length, 1));
  store = await j.reopen();
  const r2 = await recoverAll(store);
  assert.deepEqual([...r2.definitions.keys()].sort(), ['queue:/:a', 'queue:/:b']);
  assert.deepEqual(
    r2.messages.map((m) => m.message.body!.toString()),
    ['after'],
  );
});

void it('a deleted segment never takes a watermark with it', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG, compactRatio: 0 });
  await recoverAll(j.store);
  const keep = message('kept');
  j.store.enqueue(keep, [7], [1]);
  j.store.markDelivered(7, 1);
  await synced(j.store);
  // Fill and settle enough to roll several segments past the watermark's.
  for (let i = 2; i < 200; i++) {
    const m = message('x'.repeat(50));
    j.store.enqueue(m, [8], [i]);
    j.store.settle(8, i, m);
  }
  await synced(j.store);
  const store = await j.reopen();
  const r = await recoverAll(store);
  assert.deepEqual(
    r.messages.map((m) => [m.queueId, m.seq, m.redelivered]),
    [[7, 1, true]],
  );
});

void it('compacts a mostly-dead oldest segment; long-lived messages survive exactly once', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG });
  let store = j.store;
  await recoverAll(store);
  store.putDefinition('queue:/:long', { name: 'long' });
  const long: StoredMessage[] = [];
  for (let i = 1; i <= 3; i++) {
    const m = message(`long-lived ${i}`);
    store.enqueue(m, [1], [i]);
    long.push(m);
  }
  // A fanout message whose copy in queue 3 is settled: compaction keeps only queue 2's.
  const fan = message('fanout');
  store.enqueue(fan, [2, 3], [1, 1]);
  store.settle(3, 1, fan);
  const firstSegment = (long[0]!.location as JournalLocation).segment;
  for (let i = 1; i <= 400; i++) {
    const m = message(`short ${i}`.padEnd(80, '.'));
    store.enqueue(m, [4], [i]);
    store.settle(4, i, m);
    if (i % 50 === 0) await synced(store);
  }
  await synced(store);
  await eventually(() => {
    assert.ok(store.stats().compactions >= 1, 'compaction ran');
    assert.ok(!segFiles(j.dir).includes('00000000000000000001.seg'), 'first segment deleted');
  });
  // The old locations stay valid: reads and settles are forwarded to the copies.
  assert.equal(long[0]!.location!.segment, firstSegment);
  const paged = store.readPaged(long[0]!.location!, 1);
  assert.notEqual(paged.message.location!.segment, firstSegment);
  assert.equal(paged.seq, 1);
  assert.equal(paged.message.body!.toString(), 'long-lived 1');
  assert.equal(store.readBody({ ...long[1]!, body: undefined }).toString(), 'long-lived 2');
  assert.equal(store.isReadable({ ...long[2]!.location! }), true);
  assert.equal(store.stats().liveMessages, 4);
  await eventually(() => {
    const files = segFiles(j.dir).length;
    assert.ok(files <= 4, `journal stays small, ${files} segments`);
  });
  store = await j.reopen();
  const r = await recoverAll(store);
  assert.deepEqual(
    r.messages.map((m) => [m.queueId, m.seq, m.message.body!.toString()]),
    [
      [1, 1, 'long-lived 1'],
      [1, 2, 'long-lived 2'],
      [1, 3, 'long-lived 3'],
      [2, 1, 'fanout'],
    ],
  );
  assert.deepEqual([...r.definitions.keys()], ['queue:/:long']);
  // Settling the compacted copies after a restart works like any other settle.
  for (const m of r.messages) store.settle(m.queueId, m.seq, m.message);
  await synced(store);
  store = await j.reopen();
  assert.equal((await recoverAll(store)).messages.length, 0);
});

void it('recovery keeps the later copy when a compaction was cut short', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG });
  let store = j.store;
  await recoverAll(store);
  const ms: StoredMessage[] = [];
  for (let i = 1; i <= 5; i++) {
    const m = message(`keep ${i}`);
    store.enqueue(m, [1], [i]);
    ms.push(m);
  }
  await synced(store);
  // Re-append two records by hand, as an interrupted compaction would leave them.
  for (const m of ms.slice(1, 3)) {
    const loc = m.location as JournalLocation;
    const rec = Buffer.alloc(loc.size);
    const seg = store.segments[0]!;
    readSync(seg.readFd(), rec, 0, loc.size, loc.offset);
    store.moveEnqueue(seg, seg.index.find(loc.offset), rec);
  }
  store.settle(1, 3, ms[2]!);
  await synced(store);
  store = await j.reopen();
  const r = await recoverAll(store);
  assert.deepEqual(
    r.messages.map((m) => [m.seq, m.message.body!.toString()]),
    [
      [1, 'keep 1'],
      [2, 'keep 2'],
      [4, 'keep 4'],
      [5, 'keep 5'],
    ],
  );
  assert.equal(store.stats().liveMessages, 4);
});

void it('recycles deleted segment files; their stale records never come back', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG, compactRatio: 0 });
  const store = j.store;
  await recoverAll(store);
  const old: StoredMessage[] = [];
  for (let i = 1; segFiles(j.dir).length < 3; i++) {
    const m = message(`old ${i}`.padEnd(80, '.'));
    store.enqueue(m, [1], [i]);
    old.push(m);
    await synced(store);
  }
  old.forEach((m, i) => store.settle(1, i + 1, m));
  await synced(store);
  const spares = (): string[] => readdirSync(j.dir).filter((f) => f.endsWith('.spare'));
  await eventually(() => assert.ok(spares().length >= 1, 'a deleted segment became a spare'));
  // Append until a roll renames a spare into the new head segment (a file larger than it,
  // beyond the 21-byte marker after the last sync, which is not counted in its size).
  const fresh: string[] = [];
  const recycled = (): boolean => {
    const head = store.segments[store.segments.length - 1]!;
    return head.size > 0 && statSync(head.path).size > head.size + 21;
  };
  for (let i = 1; !recycled(); i++) {
    assert.ok(i < 500, 'no spare was reused');
    store.enqueue(message(`new ${i}`.padEnd(80, '.')), [2], [i]);
    fresh.push(`new ${i}`.padEnd(80, '.'));
    await synced(store);
  }
  // A crash image: the head has no SEAL and the old file's records follow our tail.
  const image = tempDir(t, 'baton-recycled-');
  cpSync(j.dir, image, { recursive: true });
  const crashed = await JournalStore.open({ dir: image });
  const r = await recoverAll(crashed);
  await crashed.close();
  assert.equal(r.byQueue.get(1), undefined, 'settled messages from the recycled file');
  assert.deepEqual(
    r.byQueue.get(2)!.map((e) => e.body),
    fresh,
  );
  assert.ok(r.stats.truncatedBytes > 0, 'the stale tail is cut after a crash');
  const again = await j.reopen();
  const r2 = await recoverAll(again);
  assert.equal(r2.stats.truncatedBytes, 0, 'a clean close seals the head: nothing to cut');
  assert.deepEqual(
    r2.byQueue.get(2)!.map((e) => e.body),
    fresh,
  );
});
