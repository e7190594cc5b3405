/**
 * Deduplication ids in the journal (DEDUP records): recorded in a commit with the enqueue they
 * guard, handed back at recovery oldest first with their expiry, kept across compaction
 * deleting the segments that held them, dropped once expired or forgotten.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { it } from 'node:test';
import type { Store, StoreOp } from '../../src/store/store.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { eventually, message, openJournal, recoverAll, synced } from './helpers.js';

const SEG = 4096;

type Ids = [number, string, number][];

async function recoverIds(store: Store): Promise<{ ids: Ids; messages: number }> {
  const ids: Ids = [];
  let messages = 0;
  await store.recover({
    definition() {},
    message() {
      messages++;
    },
    dedup(scope, id, expiresAt) {
      ids.push([scope, id, expiresAt]);
    },
  });
  return { ids, messages };
}

function dedup(scope: number, id: string, expiresAt = 0): StoreOp {
  return { op: 'dedup', scope, id, expiresAt };
}

function segName(id: number): string {
  return `${String(id).padStart(20, '0')}.seg`;
}

void it('dedup ids come back at recovery in the order recorded, the newest record of an id winning, expired ones dropped', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG });
  let store = j.store;
  await recoverAll(store);
  const later = Date.now() + 3_600_000;
  store.commit([
    { op: 'enqueue', message: message('a'), queueIds: [1], seqs: [1] },
    dedup(1, 'sa'),
  ]);
  store.commit([
    { op: 'enqueue', message: message('b'), queueIds: [1, 2], seqs: [2, 1] },
    dedup(1, 'sb', later),
    dedup(7, 'sb'),
  ]);
  store.commit([
    { op: 'enqueue', message: message('c'), queueIds: [1], seqs: [3] },
    dedup(1, 'sc', Date.now() - 1),
  ]);
  // 'sa' again (its old entry expired in the core, say): now newer than 'sb'.
  store.commit([
    { op: 'enqueue', message: message('a2'), queueIds: [1], seqs: [4] },
    dedup(1, 'sa', later),
    dedup(1, 'ü-ñ', 0),
  ]);
  await synced(store);
  store = await j.reopen();
  const r = await recoverIds(store);
  assert.equal(r.messages, 5);
  assert.deepEqual(r.ids, [
    [1, 'sb', later],
    [7, 'sb', 0],
    [1, 'sa', later],
    [1, 'ü-ñ', 0],
  ]);
  // forgetDedup writes nothing: the records come back until compaction drops them.
  store.forgetDedup(7);
  store.forgetDedup(1, 'sa');
  await synced(store);
  store = await j.reopen();
  assert.equal((await recoverIds(store)).ids.length, 4);
});

void it('live dedup ids survive compaction deleting their segments (re-appended, order kept); forgotten and expired ones do not', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG });
  let store = j.store;
  await recoverAll(store);
  const soon = Date.now() + 150;
  const long = message('long-lived');
  store.commit([
    { op: 'enqueue', message: long, queueIds: [1], seqs: [1] },
    dedup(1, 'first'),
    dedup(1, 'forgotten'),
    dedup(1, 'expiring', soon),
    dedup(9, 'deleted-scope'),
  ]);
  const short = message('short');
  store.commit([{ op: 'enqueue', message: short, queueIds: [1], seqs: [2] }, dedup(1, 'second')]);
  store.settle(1, 2, short);
  await synced(store);
  const idsIn = store.head.id;
  store.forgetDedup(1, 'forgotten');
  store.forgetDedup(9);
  await new Promise((r) => setTimeout(r, 200));
  const traffic = async (queue: number, n: number): Promise<void> => {
    for (let i = 1; i <= n; i++) {
      const m = message(`short ${i}`.padEnd(80, '.'));
      store.enqueue(m, [queue], [i]);
      store.settle(queue, i, m);
      if (i % 50 === 0) await synced(store);
    }
    await synced(store);
  };
  await traffic(4, 600);
  await eventually(() => {
    assert.ok(!readdirSync(j.dir).includes(segName(idsIn)), 'the ids segment was deleted');
  });
  store = await j.reopen();
  const r = await recoverIds(store);
  assert.equal(r.messages, 1);
  assert.deepEqual(r.ids, [
    [1, 'first', 0],
    [1, 'second', 0],
  ]);
  // Again after a restart: the recovered entries are pinned and carried too.
  const idsIn2 = store.head.id;
  await traffic(5, 600);
  await eventually(() => {
    assert.ok(!readdirSync(j.dir).includes(segName(idsIn2)), 'the next segment was deleted');
  });
  store = await j.reopen();
  assert.deepEqual((await recoverIds(store)).ids, [
    [1, 'first', 0],
    [1, 'second', 0],
  ]);
});

void it('a bad dedup op is refused before anything of the commit is applied; the memory store checks and keeps none', async (t) => {
  const j = await openJournal(t);
  await recoverAll(j.store);
  for (const store of [j.store, new MemoryStore()]) {
    assert.throws(
      () =>
        store.commit([
          { op: 'enqueue', message: message('x'), queueIds: [1], seqs: [1] },
          dedup(-1, 'bad'),
        ]),
      RangeError,
    );
    assert.equal(store.stats().liveMessages, 0);
    store.commit([dedup(1, 'ok')]);
    store.forgetDedup(1, 'ok');
  }
  const mem = new MemoryStore();
  const r = await recoverIds(mem);
  assert.deepEqual(r.ids, []);
});
