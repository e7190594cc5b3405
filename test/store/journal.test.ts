import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { it } from 'node:test';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { Store } from '../../src/store/store.js';
import { describeStore } from './conformance.js';
import { message, openJournal, recoverAll, synced, tempDir } from './helpers.js';

describeStore('JournalStore', async (t) => {
  const j = await openJournal(t);
  return {
    store: j.store,
    reopen: (): Promise<Store> => j.reopen(),
    // The head segment's descriptor swapped for a read-only one: its next write fails.
    breakWrites: (): void => {
      const head = j.store.head;
      const ro = openSync(head.path, 'r');
      closeSync(head.fd);
      head.fd = ro;
    },
  };
});

void it('group commit: many appends and one afterSync need few fdatasyncs', async (t) => {
  const { store } = await openJournal(t);
  await recoverAll(store);
  const before = store.stats().syncs;
  const ms = [];
  for (let i = 1; i <= 2000; i++) {
    const m = message(`m${i}`);
    store.enqueue(m, [1], [i]);
    ms.push(m);
  }
  let fired = 0;
  await new Promise<void>((resolve) =>
    store.afterSync((err) => {
      assert.equal(err, undefined);
      fired++;
      resolve();
    }),
  );
  assert.equal(fired, 1);
  const syncs = store.stats().syncs - before;
  assert.ok(syncs >= 1 && syncs <= 3, `2000 appends took ${syncs} syncs`);
  assert.equal(store.stats().appendedRecords, 2000);
  // Waiters registered while a batch is in flight fire after it, in order.
  const order: number[] = [];
  for (let i = 0; i < 200; i++) {
    store.settle(1, i + 1, ms[i]!);
    store.afterSync(() => order.push(i));
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  await synced(store);
  assert.deepEqual(
    order,
    Array.from({ length: 200 }, (_, i) => i),
  );
  assert.ok(store.stats().syncs - before < 20);
});

void it('a failed write is sticky: waiters get the error, later appends throw', async (t) => {
  const { store } = await openJournal(t);
  await recoverAll(store);
  store.enqueue(message('a'), [1], [1]);
  await synced(store);
  const head = store.segments[store.segments.length - 1]!;
  // Pull the file out from under the journal so the next write fails (EBADF).
  closeSync(head.fd);
  store.enqueue(message('b'), [1], [2]);
  const errors: (Error | undefined)[] = [];
  store.afterSync((err) => errors.push(err));
  await new Promise<void>((resolve) => store.afterSync(() => resolve()));
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as { code?: string }).code, 'BATON_STORE_FAILED');
  assert.equal(store.failure, errors[0]);
  assert.throws(() => store.enqueue(message('c'), [1], [3]), { code: 'BATON_STORE_FAILED' });
  assert.throws(() => store.markDelivered(1, 1), { code: 'BATON_STORE_FAILED' });
  const late = await new Promise<Error | undefined>((resolve) => store.afterSync(resolve));
  assert.equal(late, store.failure);
  head.fd = -1; // already closed above
});

void it('large bodies (written as their own iovec) and non-ASCII names round-trip', async (t) => {
  const j = await openJournal(t);
  await recoverAll(j.store);
  const big = Buffer.alloc(300 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const m = message(big, 'clé-ünïcødé-🚀');
  j.store.enqueue(m, [1], [1]);
  j.store.enqueue(message('small'), [1], [2]);
  await synced(j.store);
  assert.deepEqual(j.store.readBody({ ...m, body: undefined }), big);
  const store = await j.reopen();
  const r = await recoverAll(store);
  assert.equal(r.messages.length, 2);
  assert.deepEqual(r.messages[0]!.message.body, big);
  assert.equal(r.messages[0]!.message.routingKey, 'clé-ünïcødé-🚀');
  assert.equal(r.messages[1]!.message.body!.toString(), 'small');
});

void it('recovery pages bodies past bodyBudget; readBody reads them back', async (t) => {
  const j = await openJournal(t, { bodyBudget: 10 * 100, segmentSize: 16 * 1024 });
  await recoverAll(j.store);
  for (let i = 1; i <= 100; i++) j.store.enqueue(message(`${i}`.padStart(100, '.')), [1], [i]);
  await synced(j.store);
  const store = await j.reopen();
  const r = await recoverAll(store);
  assert.equal(r.messages.length, 100);
  const kept = r.messages.filter((m) => m.message.body !== undefined).length;
  assert.equal(kept, 10);
  for (const m of r.messages) {
    // A paged message carries only its location; readPaged and readBody read it back.
    const body = m.message.body ?? store.readBody(m.message);
    assert.equal(body.toString(), `${m.seq}`.padStart(100, '.'));
    const { message, seq } = store.readPaged({ ...m.message.location! }, 1);
    assert.equal(seq, m.seq);
    assert.equal(message.bodySize, 100);
    assert.equal(message.routingKey, 'rk');
    assert.equal(message.body!.toString(), body.toString());
  }
});

void it('open creates a missing directory; an existing journal must be recovered first', async (t) => {
  const dir = `${tempDir(t)}/nested/data`;
  const a = await JournalStore.open({ dir });
  await recoverAll(a);
  a.enqueue(message('x'), [1], [1]);
  assert.ok(readdirSync(dir).includes('LOCK'));
  await a.close();
  assert.deepEqual(readdirSync(dir).sort(), ['00000000000000000001.seg', 'JOURNAL_KEY']);
  const b = await JournalStore.open({ dir });
  t.after(() => b.close());
  assert.throws(() => b.enqueue(message('y'), [1], [2]), /recover\(\)/);
  const r = await recoverAll(b);
  assert.equal(r.messages.length, 1);
  b.enqueue(message('y'), [1], [2]);
  await synced(b);
  // After recovery new records go to a new segment.
  assert.deepEqual(readdirSync(dir).sort(), [
    '00000000000000000001.seg',
    '00000000000000000002.seg',
    'JOURNAL_KEY',
    'LOCK',
  ]);
});

void it('close flushes pending settles and watermarks before sealing the head', async (t) => {
  const j = await openJournal(t);
  await recoverAll(j.store);
  const ms = [1, 2, 3].map((i) => message(`m${i}`));
  ms.forEach((m, i) => j.store.enqueue(m, [1], [i + 1]));
  await synced(j.store);
  j.store.settle(1, 2, ms[1]!);
  j.store.markDelivered(1, 3);
  const store = await j.reopen(); // no afterSync in between
  const r = await recoverAll(store);
  assert.deepEqual(
    r.messages.map((m) => [m.seq, m.redelivered]),
    [
      [1, true],
      [3, true],
    ],
  );
});
