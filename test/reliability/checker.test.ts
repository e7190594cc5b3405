// The checker's own test: each property it guards must be able to fail (reliability.md §7.5).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { check } from './checker.js';
import type { HistoryEvent } from './history.js';

void test('checker: the oracle can fail (lost, unexpected, nacked-but-delivered, dup without redelivered, inversion)', () => {
  const ev = (
    type: HistoryEvent['type'],
    f: HistoryEvent['f'],
    seq: number,
    redelivered?: boolean,
  ): HistoryEvent => ({
    t: 0,
    proc: 'p',
    type,
    f,
    id: `p-${seq}`,
    seq,
    ...(redelivered === undefined ? {} : { redelivered }),
  });
  const base = [1, 2, 3, 4].flatMap((s) => [ev('invoke', 'publish', s), ev('ok', 'publish', s)]);
  const good = check([
    ...base,
    ...[1, 2, 3, 4].map((s) => ev('ok', 'deliver', s, false)),
    ev('ok', 'deliver', 2, true),
  ]);
  assert.equal(good.valid, true, JSON.stringify(good));
  assert.equal(good.duplicatedWithRedelivered, 1);

  const lost = check([...base, ...[1, 2, 4].map((s) => ev('ok', 'deliver', s, false))]);
  assert.equal(lost.valid, false);
  assert.deepEqual([lost.lost, lost.lostClass.middle], [1, 1]);

  const phantom = check([...base, ...[1, 2, 3, 4, 9].map((s) => ev('ok', 'deliver', s, false))]);
  assert.deepEqual([phantom.valid, phantom.unexpected], [false, 1]);

  const nack = check([
    ...base,
    ev('invoke', 'publish', 5),
    ev('fail', 'publish', 5),
    ...[1, 2, 3, 4, 5].map((s) => ev('ok', 'deliver', s, false)),
  ]);
  assert.deepEqual([nack.valid, nack.nackButDelivered], [false, 1]);

  const dup = check([...base, ...[1, 2, 3, 4, 3].map((s) => ev('ok', 'deliver', s, false))]);
  assert.equal(dup.valid, false);
  assert.equal(dup.duplicatedWithoutRedelivered, 1);

  const inverted = check([...base, ...[2, 1, 3, 4].map((s) => ev('ok', 'deliver', s, false))]);
  assert.deepEqual([inverted.valid, inverted.inversions], [false, 1]);
});

void test('checker: excused ids are not lost; unseen is reported', () => {
  const ev = (type: HistoryEvent['type'], f: HistoryEvent['f'], seq: number): HistoryEvent => ({
    t: 0,
    proc: 'p',
    type,
    f,
    id: `p-${seq}`,
    seq,
    redelivered: false,
  });
  const events = [1, 2, 3].flatMap((s) => [ev('invoke', 'publish', s), ev('ok', 'publish', s)]);
  events.push(ev('ok', 'deliver', 1), ev('ok', 'deliver', 3));
  const r = check(events, false, { excused: new Set(['p-2']) });
  assert.deepEqual([r.valid, r.lost, r.excusedLost], [true, 0, 1]);
  const u = check(events, true);
  assert.deepEqual([u.valid, u.lost, u.unseen], [false, 1, true]);
});
