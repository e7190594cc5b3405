/**
 * The Store contract, run against every implementation. A durable store also gets the
 * reopen round trip; a transient one must recover nothing.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { PagedMessage, Store, StoredMessage } from '../../src/store/store.js';
import { message, recoverAll, synced } from './helpers.js';

export interface StoreHarness {
  store: Store;
  /** Close the store and open a new one over the same data (durable stores only). */
  reopen?: () => Promise<Store>;
  /** Make the store's next write fail for good (stores that can fail). */
  breakWrites?: () => void;
}

function paged(r: PagedMessage | Error | undefined): PagedMessage {
  if (r === undefined || r instanceof Error) throw r ?? new Error('no result');
  return r;
}

function bodies(ms: readonly StoredMessage[]): string[] {
  return ms.map((m) => m.body?.toString() ?? '<paged>');
}

export type StoreFactory = (t: TestContext) => Promise<StoreHarness>;

export function describeStore(name: string, factory: StoreFactory): void {
  void describe(`${name} (Store conformance)`, () => {
    void it('enqueue sets a location and afterSync fires once the appends are synced', async (t) => {
      const { store } = await factory(t);
      await recoverAll(store);
      const m = message('hello');
      store.enqueue(m, [1], [1]);
      assert.notEqual(m.location, undefined);
      let fired = 0;
      await new Promise<void>((resolve) =>
        store.afterSync((err) => {
          assert.equal(err, undefined);
          fired++;
          resolve();
        }),
      );
      assert.equal(fired, 1);
      assert.ok(store.stats().appendedRecords >= 1);
    });

    void it('afterSync with nothing pending fires asynchronously, callbacks in call order', async (t) => {
      const { store } = await factory(t);
      await recoverAll(store);
      const order: number[] = [];
      store.afterSync(() => order.push(1));
      store.enqueue(message('x'), [1], [1]);
      store.afterSync(() => order.push(2));
      store.afterSync(() => order.push(3));
      assert.deepEqual(order, [], 'never synchronously');
      await synced(store);
      assert.deepEqual(order, [1, 2, 3]);
    });

    void it('counts live messages through enqueue, settle and purge', async (t) => {
      const { store } = await factory(t);
      await recoverAll(store);
      const a = message('a');
      const b = message('b');
      const c = message('c');
      store.enqueue(a, [1, 2], [1, 1]);
      store.enqueue(b, [1], [2]);
      store.enqueue(c, [2], [2]);
      assert.equal(store.stats().liveMessages, 4);
      store.settle(1, 1, a);
      assert.equal(store.stats().liveMessages, 3);
      store.purge(2, 2, [a, c]);
      assert.equal(store.stats().liveMessages, 1);
      store.settle(1, 2, b);
      assert.equal(store.stats().liveMessages, 0);
      await synced(store);
    });

    void it('readBody returns the body of a journaled message', async (t) => {
      const { store } = await factory(t);
      await recoverAll(store);
      const m = message('body bytes');
      store.enqueue(m, [3], [7]);
      await synced(store);
      assert.equal(store.readBody(m).toString(), 'body bytes');
    });

    void it('refuses appends after close with BATON_STORE_FAILED', async (t) => {
      const { store } = await factory(t);
      await recoverAll(store);
      store.putDefinition('k', { a: 1 });
      await store.close();
      const expected = { code: 'BATON_STORE_FAILED' };
      assert.throws(() => store.enqueue(message('late'), [1], [1]), expected);
      assert.throws(() => store.putDefinition('k2', {}), expected);
      assert.throws(() => store.settle(1, 1, message('x')), expected);
      assert.throws(
        () => store.commit([{ op: 'enqueue', message: message('x'), queueIds: [1], seqs: [1] }]),
        expected,
      );
      assert.equal(store.failure, undefined, 'closing is not a failure');
    });

    void it('round trip: definitions, messages, settles, purges and watermarks', async (t) => {
      const h = await factory(t);
      await recoverAll(h.store);
      let store = h.store;
      const value = {
        name: 'orders',
        durable: true,
        arguments: { 'x-max-length': 10, blob: Buffer.from([0, 1, 255]) },
        big: 12345678901234567890n,
        at: new Date('2024-01-02T03:04:05.678Z'),
        list: [1, 'two', null, { $t: 'looks like a tag' }],
      };
      store.putDefinition('queue:/:orders', value);
      store.putDefinition('queue:/:gone', { name: 'gone' });
      store.putDefinition('exchange:/:x', { v: 1 });
      store.putDefinition('exchange:/:x', { v: 2 });
      store.deleteDefinition('queue:/:gone');
      const ms = Array.from({ length: 10 }, (_, i) => message(`m${i + 1}`));
      // Queue 1 gets m1..m10 (seq 1..10); queue 2 gets m1..m5 as seq 101..105 (fanout).
      for (let i = 0; i < 10; i++) {
        if (i < 5) store.enqueue(ms[i]!, [1, 2], [i + 1, 101 + i]);
        else store.enqueue(ms[i]!, [1], [i + 1]);
      }
      store.settle(1, 2, ms[1]!);
      store.settle(2, 103, ms[2]!);
      store.markDelivered(1, 4);
      store.purge(2, 102, [ms[0]!, ms[1]!]);
      store.settle(1, 9, ms[8]!);
      store.enqueue(message('late'), [3], [1]);
      await synced(store);
      if (h.reopen === undefined) {
        await store.close();
        return;
      }
      store = await h.reopen();
      const r = await recoverAll(store);
      if (r.stats.segments === 0 && r.definitions.size === 0) {
        assert.equal(r.messages.length, 0, 'a transient store recovers nothing');
        return;
      }
      assert.deepEqual([...r.definitions.keys()].sort(), ['exchange:/:x', 'queue:/:orders']);
      assert.deepEqual(r.definitions.get('queue:/:orders'), value);
      assert.deepEqual(r.definitions.get('exchange:/:x'), { v: 2 });
      const q1 = r.byQueue.get(1)!;
      assert.deepEqual(
        q1.map((e) => [e.seq, e.body, e.redelivered]),
        [
          [1, 'm1', true],
          [3, 'm3', true],
          [4, 'm4', true],
          [5, 'm5', false],
          [6, 'm6', false],
          [7, 'm7', false],
          [8, 'm8', false],
          [10, 'm10', false],
        ],
      );
      assert.deepEqual(
        r.byQueue.get(2)!.map((e) => [e.seq, e.body, e.redelivered]),
        [
          [104, 'm4', false],
          [105, 'm5', false],
        ],
      );
      assert.deepEqual(
        r.byQueue.get(3)!.map((e) => e.body),
        ['late'],
      );
      assert.equal(r.stats.messages, 11);
      assert.equal(r.stats.maxQueueId, 3);
      assert.equal(store.stats().liveMessages, 11);
      // The same message object serves both queues it is still in.
      const m4 = r.messages.filter((m) => m.message.body?.toString() === 'm4');
      assert.equal(m4.length, 2);
      assert.equal(m4[0]!.message, m4[1]!.message);
      for (const m of r.messages) assert.notEqual(m.message.location, undefined);
      assert.equal(r.messages[0]!.message.exchange, 'amq.direct');
      assert.equal(r.messages[0]!.message.routingKey, 'rk');
      assert.deepEqual(r.messages[0]!.message.properties, Buffer.from([0x80, 0, 0]));
      await store.close();
    });

    void it('capabilities are plain flags; a durable store recovers what was synced', async (t) => {
      const h = await factory(t);
      const { store } = h;
      const c = store.capabilities;
      for (const k of ['paging', 'atomicCommit', 'durable', 'shared'] as const)
        assert.equal(typeof c[k], 'boolean', k);
      assert.equal(c.shared, false, 'no store supports sharing yet');
      await recoverAll(store);
      store.putDefinition('queue:/:d', { d: 1 });
      store.enqueue(message('kept'), [1], [1]);
      await synced(store);
      if (h.reopen === undefined) return;
      const again = await h.reopen();
      const r = await recoverAll(again);
      assert.equal(r.definitions.has('queue:/:d'), c.durable);
      assert.equal(r.messages.length, c.durable ? 1 : 0);
    });

    void it('allocateQueueId hands out fresh ids, never again after a restart', async (t) => {
      const h = await factory(t);
      let store = h.store;
      await recoverAll(store);
      const seen = new Set<number>();
      for (let i = 0; i < 2100; i++) {
        const id = store.allocateQueueId();
        assert.ok(Number.isInteger(id) && id > 0 && id <= 0xffffffff);
        assert.ok(!seen.has(id), `id ${id} handed out twice`);
        seen.add(id);
      }
      store.reserveQueueIds(5000);
      const afterReserve = store.allocateQueueId();
      assert.ok(afterReserve > 5000);
      // Ids named by records count too (a queue of an older journal).
      store.enqueue(message('x'), [afterReserve + 10], [1]);
      await synced(store);
      if (h.reopen === undefined || !store.capabilities.durable) return;
      store = await h.reopen();
      await recoverAll(store);
      const next = store.allocateQueueId();
      assert.ok(next > afterReserve + 10, `${next} after a restart reuses an old id`);
    });

    void it('commit applies every op kind in order, as one unit', async (t) => {
      const h = await factory(t);
      let store = h.store;
      await recoverAll(store);
      const a = message('a');
      const b = message('b');
      const c = message('c');
      store.enqueue(a, [1], [1]);
      store.enqueue(b, [1, 2], [2, 1]);
      const records = store.stats().appendedRecords;
      // A dead-letter move (settle in 1, enqueue in 3), a purge, a watermark, a fanout publish.
      const moved = message('a, moved');
      const d = message('d');
      store.commit([
        { op: 'settle', queueId: 1, seq: 1, message: a },
        { op: 'enqueue', message: moved, queueIds: [3], seqs: [1] },
        { op: 'purge', queueId: 2, uptoSeq: 1, messages: [b] },
        { op: 'markDelivered', queueId: 1, seq: 2 },
        { op: 'enqueue', message: d, queueIds: [1, 3], seqs: [3, 2] },
        { op: 'enqueue', message: c, queueIds: [4], seqs: [1] },
        { op: 'settle', queueId: 4, seq: 1, message: c },
      ]);
      assert.notEqual(moved.location, undefined);
      assert.notEqual(d.location, undefined);
      // Live: b in 1, moved in 3, d in 1 and 3.
      assert.equal(store.stats().liveMessages, 4);
      assert.ok(store.stats().appendedRecords > records);
      store.commit([]);
      // A bad op refuses the whole commit before anything is applied.
      const before = store.stats();
      assert.throws(() =>
        store.commit([
          { op: 'enqueue', message: message('never'), queueIds: [1], seqs: [9] },
          { op: 'enqueue', message: message('bad'), queueIds: [1, 2], seqs: [10] },
        ]),
      );
      assert.deepEqual(store.stats(), before);
      await synced(store);
      if (h.reopen === undefined || !store.capabilities.durable) return;
      store = await h.reopen();
      const r = await recoverAll(store);
      const view = (q: number): [number, string | undefined, boolean][] =>
        (r.byQueue.get(q) ?? []).map((e) => [e.seq, e.body, e.redelivered]);
      assert.deepEqual(view(1), [
        [2, 'b', true],
        [3, 'd', false],
      ]);
      assert.deepEqual(view(2), []);
      assert.deepEqual(view(3), [
        [1, 'a, moved', false],
        [2, 'd', false],
      ]);
      assert.deepEqual(view(4), []);
      assert.equal(store.stats().liveMessages, 4);
    });

    void it('load reads paged messages back without blocking, or rejects when the store never pages', async (t) => {
      const { store } = await factory(t);
      await recoverAll(store);
      const ms = Array.from({ length: 50 }, (_, i) => message(`p${i}`, `rk${i % 3}`));
      for (let i = 0; i < ms.length; i++) store.enqueue(ms[i]!, [7, 8], [i + 1, 100 + i]);
      const locations = ms.map((m) => m.location!);
      if (!store.capabilities.paging) {
        await assert.rejects(store.load(locations, 7));
        return;
      }
      // Not written yet: served once they are; the caller is never blocked.
      let settled = false;
      const early = store.load(locations, 7).finally(() => (settled = true));
      assert.equal(settled, false);
      const first = (await early).map(paged);
      assert.deepEqual(
        first.map((p) => p.seq),
        ms.map((_, i) => i + 1),
      );
      assert.deepEqual(bodies(first.map((p) => p.message)), bodies(ms));
      assert.equal(first[4]!.message.routingKey, 'rk1');
      assert.deepEqual(first[0]!.message.properties, ms[0]!.properties);
      // Plain objects with the numbers work too; another queue of the record gets its seq.
      const plain = locations.slice(10, 20).map((l) => ({ ...l }));
      const second = (await store.load(plain, 8)).map(paged);
      assert.deepEqual(
        second.map((p) => p.seq),
        Array.from({ length: 10 }, (_, i) => 110 + i),
      );
      // A location read back can be settled like the original.
      store.settle(8, 110, second[0]!.message);
      // A queue the record does not name is an error for that entry only.
      const mixed = await store.load([locations[0]!, locations[1]!], 9);
      assert.ok(mixed[0] instanceof Error && mixed[1] instanceof Error);
      assert.deepEqual(await store.load([], 7), []);
      // A load still waiting when close starts finishes first.
      const tail = message('last');
      store.enqueue(tail, [7], [51]);
      const pending = store.load([tail.location!], 7);
      await store.close();
      assert.equal(paged((await pending)[0]).message.body?.toString(), 'last');
      await assert.rejects(store.load(locations, 7), { code: 'BATON_STORE_FAILED' });
    });

    void it('timestamps come back exactly as written, from recovery and from load', async (t) => {
      const h = await factory(t);
      let store = h.store;
      await recoverAll(store);
      const stamps = [1_700_000_000_123, 0, 1_700_000_000_123.5, Date.now()];
      const ms = stamps.map((ts, i) => ({ ...message(`t${i}`), timestamp: ts }));
      ms.forEach((m, i) => store.enqueue(m, [1], [i + 1]));
      const moved = { ...message('in a commit'), timestamp: 1_600_000_000_000 };
      store.commit([{ op: 'enqueue', message: moved, queueIds: [1], seqs: [5] }]);
      await synced(store);
      if (store.capabilities.paging) {
        const got = (
          await store.load(
            [...ms, moved].map((m) => m.location!),
            1,
          )
        ).map(paged);
        assert.deepEqual(
          got.map((p) => p.message.timestamp),
          [...stamps, 1_600_000_000_000],
        );
      }
      if (h.reopen === undefined || !store.capabilities.durable) return;
      store = await h.reopen();
      const r = await recoverAll(store);
      assert.deepEqual(
        r.messages.map((m) => m.message.timestamp),
        [...stamps, 1_600_000_000_000],
      );
    });

    void it('recordFailures: the highest count per (queue, seq) comes back, none for settled or purged ones', async (t) => {
      const h = await factory(t);
      let store = h.store;
      await recoverAll(store);
      const a = message('a');
      const b = message('b');
      const c = message('c');
      const d = message('d');
      store.enqueue(a, [1, 2], [1, 1]);
      store.enqueue(b, [1], [2]);
      store.enqueue(c, [1], [3]);
      store.enqueue(d, [3], [1]);
      store.recordFailures(1, 1, 1);
      store.recordFailures(1, 1, 2);
      store.recordFailures(2, 1, 7);
      store.recordFailures(1, 2, 4);
      // Never lowered by a smaller count that arrives later.
      store.recordFailures(1, 2, 3);
      store.recordFailures(1, 3, 1);
      store.settle(1, 3, c);
      store.recordFailures(3, 1, 5);
      store.purge(3, 1, [d]);
      store.commit([
        { op: 'failures', queueId: 1, seq: 1, failures: 3 },
        { op: 'markDelivered', queueId: 1, seq: 2 },
      ]);
      for (const bad of [
        [-1, 1, 1],
        [1, -1, 1],
        [1, 1.5, 1],
        [1, 1, 2 ** 32],
        [1, 1, Number.NaN],
        [2 ** 32, 1, 1],
      ] as const) {
        assert.throws(() => store.recordFailures(bad[0], bad[1], bad[2]), RangeError, `${bad}`);
      }
      assert.throws(
        () => store.commit([{ op: 'failures', queueId: 1, seq: 1, failures: -2 }]),
        RangeError,
      );
      await synced(store);
      if (h.reopen === undefined || !store.capabilities.durable) {
        await store.close();
        // Closed: dropped, never thrown (it runs on the failure path of a delivery).
        store.recordFailures(1, 1, 9);
        return;
      }
      store = await h.reopen();
      const r = await recoverAll(store);
      assert.deepEqual(
        r.messages.map((m) => [m.queueId, m.seq, m.failures]),
        [
          [1, 1, 3],
          [1, 2, 4],
          [2, 1, 7],
        ],
      );
      // After a restart the counts go on from there.
      store.recordFailures(1, 2, 5);
      await store.close();
      store.recordFailures(1, 2, 6);
      store = await h.reopen();
      const r2 = await recoverAll(store);
      assert.deepEqual(
        r2.messages.map((m) => [m.queueId, m.seq, m.failures]),
        [
          [1, 1, 3],
          [1, 2, 5],
          [2, 1, 7],
        ],
      );
    });

    void it('recordFailures never throws on a failed store', async (t) => {
      const h = await factory(t);
      const { store } = h;
      await recoverAll(store);
      store.enqueue(message('x'), [1], [1]);
      await synced(store);
      if (h.breakWrites === undefined) return;
      h.breakWrites();
      store.enqueue(message('lost'), [1], [2]);
      await new Promise<Error | undefined>((resolve) => store.afterSync(resolve));
      assert.notEqual(store.failure, undefined);
      store.recordFailures(1, 1, 1);
      assert.throws(() => store.recordFailures(1, 1, -1), RangeError);
      await store.close();
    });

    void it('a failed store stays failed: writes throw, afterSync and load report it', async (t) => {
      const h = await factory(t);
      const { store } = h;
      await recoverAll(store);
      const m = message('before');
      store.enqueue(m, [1], [1]);
      await synced(store);
      if (h.breakWrites === undefined) {
        assert.equal(store.failure, undefined, 'a store that cannot fail never reports one');
        return;
      }
      h.breakWrites();
      store.enqueue(message('lost'), [1], [2]);
      const err = await new Promise<Error | undefined>((resolve) => store.afterSync(resolve));
      assert.ok(err !== undefined);
      assert.equal((store.failure as { code?: string }).code, 'BATON_STORE_FAILED');
      const expected = { code: 'BATON_STORE_FAILED' };
      assert.throws(() => store.enqueue(message('late'), [1], [3]), expected);
      assert.throws(() => store.settle(1, 1, m), expected);
      assert.throws(() => store.purge(1, 1, [m]), expected);
      assert.throws(() => store.markDelivered(1, 1), expected);
      assert.throws(() => store.putDefinition('k', {}), expected);
      assert.throws(() => store.deleteDefinition('k'), expected);
      assert.throws(() => store.commit([{ op: 'markDelivered', queueId: 1, seq: 1 }]), expected);
      await assert.rejects(store.load([m.location!], 1), expected);
      const again = await new Promise<Error | undefined>((resolve) => store.afterSync(resolve));
      assert.equal(again, store.failure);
      // Transient queues still get ids.
      assert.ok(store.allocateQueueId() > 0);
      await store.close();
    });
  });
}
