/**
 * The session's unacked deliveries (src/core/unacked.ts) against a Map model under random
 * deliveries (with skipped tags, as no-ack deliveries leave), single and multiple acks of known
 * and unknown tags, takes from the middle (out-of-order acks, lease and timeout expiry),
 * clears (recover) and rebuilds in tag order (transaction rollback). More runs:
 * BATON_PROP_RUNS=<n>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { QueueEntry } from '../../src/core/queue-entry.js';
import { UnackedDeliveries } from '../../src/core/unacked.js';

const RUNS = Number(process.env.BATON_PROP_RUNS ?? 300);

type Op =
  | { op: 'add'; n: number; skip: number }
  | { op: 'take'; at: number }
  | { op: 'takeFirst'; at: number }
  | { op: 'slide'; n: number; every: number }
  | { op: 'clear' }
  | { op: 'rebuild'; keep: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      n: fc.integer({ min: 1, max: 40 }),
      skip: fc.integer({ min: 0, max: 3 }),
    }),
  },
  // `at` picks a tag relative to the model: a held one, or one just past either end.
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      at: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('takeFirst' as const),
      at: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
    }),
  },
  // A stuck delivery or two while the rest flow: holes behind the front, compaction of a
  // wrapped ring.
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('slide' as const),
      n: fc.integer({ min: 1, max: 300 }),
      every: fc.integer({ min: 2, max: 9 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('rebuild' as const),
      keep: fc.integer({ min: 0, max: 7 }),
    }),
  },
);

function entry(tag: number): QueueEntry {
  return { tag } as QueueEntry;
}

/** A tag around the model's range: `at` 0..1 spans it, with a few below and above. */
function pick(model: Map<number, QueueEntry>, next: number, at: number): number {
  const keys = [...model.keys()];
  if (keys.length !== 0 && at >= 0 && at < 1 && Math.floor(at * 10) % 3 !== 0)
    return keys[Math.floor(at * keys.length)]!;
  return Math.max(0, Math.round(at * next));
}

void test(`unacked deliveries behave as a Map in insertion order (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const u = new UnackedDeliveries();
      const model = new Map<number, QueueEntry>();
      let next = 1;
      for (const o of ops) {
        switch (o.op) {
          case 'add':
            for (let i = 0; i < o.n; i++) {
              const tag = next;
              next += 1 + (i % 4 === 0 ? o.skip : 0);
              const e = entry(tag);
              u.add(tag, e);
              model.set(tag, e);
            }
            break;
          case 'take': {
            const tag = pick(model, next, o.at);
            const want = model.get(tag);
            model.delete(tag);
            assert.equal(u.take(tag), want);
            assert.equal(u.take(tag), undefined);
            break;
          }
          case 'takeFirst': {
            // A multiple ack up to `upto`: the prefix, lowest tag first.
            const upto = pick(model, next, o.at);
            const want = [...model.values()].filter((e) => e.tag <= upto);
            for (const e of want) model.delete(e.tag);
            const got: QueueEntry[] = [];
            let e;
            while ((e = u.takeFirst(upto)) !== undefined) got.push(e);
            assert.deepEqual(got, want);
            break;
          }
          case 'slide':
            for (let i = 0; i < o.n; i++) {
              const e = entry(next++);
              u.add(e.tag, e);
              model.set(e.tag, e);
              const keys = [...model.keys()];
              const tag: number =
                i % o.every === 0 ? keys[0]! : keys[Math.min(2, keys.length - 1)]!;
              if (keys.length < 3) continue;
              assert.equal(u.take(tag), model.get(tag));
              model.delete(tag);
            }
            break;
          case 'clear':
            u.clear();
            model.clear();
            break;
          case 'rebuild': {
            // Rollback: some taken entries come back, all re-added in tag order.
            const held = [...model.values()].filter((e) => e.tag % 8 === o.keep);
            for (const e of held) {
              model.delete(e.tag);
              u.take(e.tag);
            }
            const all = [...u.values(), ...held].sort((a, b) => a.tag - b.tag);
            u.clear();
            model.clear();
            for (const e of all) {
              u.add(e.tag, e);
              model.set(e.tag, e);
            }
            break;
          }
        }
        assert.equal(u.size, model.size);
        assert.deepEqual(u.keys(), [...model.keys()]);
        assert.deepEqual(u.values(), [...model.values()]);
        for (let t = 0; t <= next; t++) {
          assert.equal(u.get(t), model.get(t));
          assert.equal(u.has(t), model.has(t));
        }
      }
    }),
    { numRuns: RUNS },
  );
});

void test('unacked deliveries: a long-held first entry while many pass after it', () => {
  const u = new UnackedDeliveries();
  const first = entry(1);
  u.add(1, first);
  // In-order acks behind a stuck delivery: holes at the front, compaction keeps it bounded.
  for (let tag = 2; tag < 100_000; tag++) {
    u.add(tag, entry(tag));
    assert.equal(u.take(tag)?.tag, tag);
  }
  assert.equal(u.size, 1);
  assert.equal(u.get(1), first);
  assert.deepEqual(u.keys(), [1]);
  assert.equal(u.takeFirst(Infinity), first);
  assert.equal(u.size, 0);
});
