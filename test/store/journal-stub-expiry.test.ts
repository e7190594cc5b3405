import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { message, recoverAll, synced, tempDir } from './helpers.js';

void test('journal recovery: messages handed over past the body budget keep expiresAt (and only it)', async (t) => {
  const dir = tempDir(t);
  const store = await JournalStore.open({ dir, segmentSize: 64 * 1024 });
  await recoverAll(store);
  const N = 200;
  for (let i = 0; i < N; i++) {
    const m = message(Buffer.alloc(500, i));
    // Every other one with an expiry (a delayed exchange's due time), through compaction too.
    m.expiresAt = i % 2 === 0 ? 1_700_000_000_000 + i : 0;
    store.enqueue(m, [7], [i + 1]);
  }
  await synced(store);
  await store.close();

  const again = await JournalStore.open({ dir, segmentSize: 64 * 1024, bodyBudget: 4 * 1024 });
  const r = await recoverAll(again);
  await again.close();
  assert.equal(r.messages.length, N);
  const stubs = r.messages.filter((m) => m.message.body === undefined);
  assert.ok(stubs.length > N / 2, `${stubs.length} paged stubs`);
  for (const m of r.messages) {
    const i = m.seq - 1;
    assert.equal(m.message.expiresAt, i % 2 === 0 ? 1_700_000_000_000 + i : 0, `seq ${m.seq}`);
  }
});
