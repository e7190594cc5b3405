import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NONE, QueueScan } from '../../src/store/journal/queue-scan.js';
import { prng, seedFromEnv } from './helpers.js';

function contents(q: QueueScan): [number, number][] {
  const out: [number, number][] = [];
  q.each((seq, rec) => out.push([seq, rec]));
  return out;
}

void it('QueueScan behaves like a sorted map under random operations', () => {
  const seed = seedFromEnv('BATON_QUEUE_SCAN_SEED');
  const rand = prng(seed);
  for (let round = 0; round < 30; round++) {
    const q = new QueueScan();
    const model = new Map<number, number>();
    let next = 1;
    let rec = 0;
    let maxSeq = -1;
    // Some rounds never go out of order (the typed-array path), the rest rarely do.
    const ordered = round % 3 === 0;
    for (let op = 0; op < 12_000; op++) {
      const r = rand();
      if (r < 0.5) {
        // Mostly ascending appends (with gaps); sometimes a repeat or an older seq.
        const seq =
          ordered || rand() < 0.97
            ? (next += 1 + Math.floor(rand() * 2)) - 1
            : Math.floor(rand() * next);
        const prev = model.get(seq);
        rec++;
        assert.equal(q.set(seq, rec), prev ?? NONE, `seed ${seed}`);
        model.set(seq, rec);
        maxSeq = Math.max(maxSeq, seq);
      } else if (r < 0.98) {
        const live = [...model.keys()];
        const seq = rand() < 0.7 ? Math.min(...live.slice(0, 50)) : Math.floor(rand() * next);
        if (!Number.isFinite(seq)) continue;
        assert.equal(q.delete(seq), model.get(seq) ?? NONE, `seed ${seed}`);
        model.delete(seq);
        maxSeq = Math.max(maxSeq, seq);
      } else {
        const upto = Math.floor(rand() * next);
        q.purge(upto);
        for (const s of [...model.keys()]) if (s <= upto) model.delete(s);
        maxSeq = Math.max(maxSeq, upto);
      }
    }
    const expected = [...model].sort((a, b) => a[0] - b[0]);
    assert.deepEqual(contents(q), expected, `seed ${seed} (BATON_QUEUE_SCAN_SEED) round ${round}`);
    assert.equal(q.size, model.size, `seed ${seed} round ${round}: size`);
    assert.equal(q.maxSeq, maxSeq, `seed ${seed} round ${round}: maxSeq`);
    const drained: [number, number][] = [];
    q.drain((seq, rec) => drained.push([seq, rec]));
    assert.deepEqual(drained, expected, `seed ${seed} round ${round}: drain`);
    assert.equal(q.size, 0);
    assert.deepEqual(contents(q), []);
    assert.equal(q.maxSeq, maxSeq);
  }
});

void it('QueueScan keeps a million ascending seqs in typed arrays and drops settled chunks', () => {
  const q = new QueueScan();
  for (let i = 1; i <= 1_000_000; i++) q.set(i * 2, i);
  for (let i = 1; i <= 999_990; i++) assert.equal(q.delete(i * 2), i);
  q.purge(1_999_985 * 1);
  const left = contents(q);
  assert.deepEqual(
    left.map(([s]) => s),
    [1_999_986, 1_999_988, 1_999_990, 1_999_992, 1_999_994, 1_999_996, 1_999_998, 2_000_000],
  );
  assert.equal(q.maxSeq, 2_000_000);
  // Seqs past 2^32 within one queue.
  const big = new QueueScan();
  big.set(2 ** 40, 1);
  big.set(2 ** 40 + 5, 2);
  big.set(2 ** 41, 3);
  assert.equal(big.delete(2 ** 40 + 5), 2);
  assert.deepEqual(contents(big), [
    [2 ** 40, 1],
    [2 ** 41, 3],
  ]);
});
