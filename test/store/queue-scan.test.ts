import assert from 'node:assert/strict';
import { it } from 'node:test';
import { QueueScan } from '../../src/store/journal/queue-scan.js';
import type { StoredMessage } from '../../src/store/store.js';
import { message, prng, seedFromEnv } from './helpers.js';

function contents(q: QueueScan): [number, string][] {
  const out: [number, string][] = [];
  q.each((seq, m) => out.push([seq, m.body!.toString()]));
  return out;
}

void it('QueueScan behaves like a sorted map under random operations', () => {
  const seed = seedFromEnv('BATON_QUEUE_SCAN_SEED');
  const rand = prng(seed);
  for (let round = 0; round < 30; round++) {
    const q = new QueueScan();
    const model = new Map<number, StoredMessage>();
    let next = 1;
    for (let op = 0; op < 12_000; op++) {
      const r = rand();
      if (r < 0.5) {
        // Mostly ascending appends; sometimes a repeat or (rarely) an older seq.
        const seq = rand() < 0.97 ? next++ : Math.floor(rand() * next);
        const m = message(`${seq}:${op}`);
        assert.equal(q.set(seq, m), model.get(seq), `seed ${seed}`);
        model.set(seq, m);
      } else if (r < 0.98) {
        const live = [...model.keys()];
        const seq = rand() < 0.7 ? Math.min(...live.slice(0, 50)) : Math.floor(rand() * next);
        assert.equal(q.delete(seq), model.get(seq), `seed ${seed}`);
        model.delete(seq);
      } else {
        const upto = Math.floor(rand() * next);
        const dropped: StoredMessage[] = [];
        q.purge(upto, (m) => dropped.push(m));
        const expected = [...model].filter(([s]) => s <= upto);
        assert.equal(dropped.length, expected.length, `seed ${seed}`);
        for (const [s] of expected) model.delete(s);
      }
    }
    const expected = [...model]
      .sort((a, b) => a[0] - b[0])
      .map(([s, m]): [number, string] => [s, m.body!.toString()]);
    assert.deepEqual(contents(q), expected, `seed ${seed} (BATON_QUEUE_SCAN_SEED) round ${round}`);
  }
});
