/**
 * The Store contract, run against every implementation. A durable store also gets the
 * reopen round trip; a transient one must recover nothing.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Store } from '../../src/store/store.js';
import { message, recoverAll, synced } from './helpers.js';

export interface StoreHarness {
  store: Store;
  /** Close the store and open a new one over the same data (durable stores only). */
  reopen?: () => Promise<Store>;
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
  });
}
