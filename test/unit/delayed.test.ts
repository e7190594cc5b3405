import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { delayOf, DueHeap } from '../../src/core/delayed.js';

void test('DueHeap pops in (due, seq) order, with each entry’s flags and reference', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 300 }),
      fc.array(fc.nat(300), { maxLength: 50 }),
      (entries, popsBetween) => {
        const heap = new DueHeap();
        const model: { due: number; seq: number; flags: number }[] = [];
        const popped: number[] = [];
        const expected: number[] = [];
        let seq = 0;
        const popOne = (): void => {
          model.sort((a, b) => a.due - b.due || a.seq - b.seq);
          const e = model.shift()!;
          expected.push(e.seq);
          assert.equal(heap.topDue(), e.due);
          const s = heap.topSeq();
          const ref = heap.topRef();
          assert.deepEqual([ref.segment, ref.offset, ref.size], [s, s * 2, s * 3]);
          assert.equal(heap.pop(), e.flags);
          popped.push(s);
        };
        for (let i = 0; i < entries.length; i++) {
          const [due, f] = entries[i]!;
          seq++;
          heap.push(due, seq, f ? 1 : 0, seq, seq * 2, seq * 3);
          model.push({ due, seq, flags: f ? 1 : 0 });
          if (popsBetween.includes(i) && model.length > 0) popOne();
        }
        while (model.length > 0) popOne();
        assert.equal(heap.length, 0);
        assert.deepEqual(popped, expected);
      },
    ),
  );
});

void test('delayOf reads x-delay as the plugin does', () => {
  assert.equal(delayOf(500), 500);
  assert.equal(delayOf(100.9), 100);
  assert.equal(delayOf('250'), 250);
  assert.equal(delayOf(12n), 12);
  assert.equal(delayOf({ '!': 'int32', value: 7 }), 7);
  for (const v of [undefined, null, 0, -1, '-5', 'soon', '1.5', true, NaN, Infinity, {}])
    assert.equal(delayOf(v), 0, typeof v);
});
