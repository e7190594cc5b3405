import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { describeStore } from './conformance.js';
import { message, recoverAll } from './helpers.js';

describeStore('MemoryStore', (t) => {
  const store = new MemoryStore();
  t.after(() => store.close());
  return Promise.resolve({ store, reopen: () => Promise.resolve(new MemoryStore()) });
});

void it('MemoryStore recovers nothing and fires afterSync on the next tick', async () => {
  const store = new MemoryStore();
  store.putDefinition('queue:/:q', { name: 'q' });
  store.enqueue(message('x'), [1], [1]);
  const r = await recoverAll(store);
  assert.equal(r.definitions.size, 0);
  assert.equal(r.messages.length, 0);
  let fired = false;
  store.afterSync(() => (fired = true));
  assert.equal(fired, false);
  await new Promise((resolve) => process.nextTick(resolve));
  assert.equal(fired, true);
  assert.equal(store.stats().syncs, 0);
  await store.close();
});

void it('MemoryStore never pages: isReadable is false and readPaged throws', async () => {
  const store = new MemoryStore();
  const m = message('x');
  store.enqueue(m, [1], [1]);
  assert.equal(store.isReadable(m.location!), false);
  assert.equal(store.isReadable({ segment: 1, offset: 0, size: 10 }), false);
  assert.throws(() => store.readPaged(m.location!, 1), /keeps no paged messages/);
  const r = await recoverAll(store);
  assert.equal(r.stats.queueSeqs.size, 0);
  await store.close();
});
