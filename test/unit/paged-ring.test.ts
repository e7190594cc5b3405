import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PagedRing } from '../../src/util/paged-ring.js';
import { RingBuffer } from '../../src/util/ring-buffer.js';

void test('PagedRing keeps FIFO order across chunk boundaries while pushes and shifts interleave', () => {
  const r = new PagedRing();
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 90_000; i++, next++) r.push(next, next * 2, next % 1000);
    for (let i = 0; i < 70_000; i++, expect++) {
      assert.equal(r.segmentAt0(), expect);
      assert.equal(r.offsetAt0(), expect * 2);
      assert.equal(r.sizeAt0(), expect % 1000);
      r.shift();
    }
  }
  assert.equal(r.length, next - expect);
  while (r.length > 0) {
    assert.equal(r.segmentAt0(), expect++);
    r.shift();
  }
  r.push(7, 8, 9);
  assert.equal(r.segmentAt0(), 7);
});

void test('RingBuffer grows, wraps and unshifts in order', () => {
  const r = new RingBuffer<number>(4);
  for (let i = 0; i < 10; i++) r.push(i);
  assert.equal(r.shift(), 0);
  r.unshift(-1);
  assert.deepEqual([...r], [-1, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (let i = 10; i < 40; i++) r.push(i);
  assert.equal(r.at(0), -1);
  assert.equal(r.length, 40);
});
