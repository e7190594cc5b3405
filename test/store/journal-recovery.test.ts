import assert from 'node:assert/strict';
import {
  appendFileSync,
  cpSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { StoredMessage } from '../../src/store/store.js';
import { message, openJournal, prng, recoverAll, seedFromEnv, synced, tempDir } from './helpers.js';

/** One record as an independent reader of the documented layout sees it. */
interface Rec {
  file: string;
  start: number;
  end: number;
  kind: number;
  /** "queue:seq" pairs an ENQUEUE adds or a SETTLE removes; the key of a DEF_PUT. */
  keys: string[];
}

/** A message record: ENQUEUE_T (10), or ENQUEUE (3) of an older journal. */
function isEnqueueKind(kind: number): boolean {
  return kind === 3 || kind === 10;
}

function walk(dir: string): Rec[] {
  const out: Rec[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()) {
    const b = readFileSync(join(dir, file));
    let off = 0;
    while (off + 9 <= b.length) {
      const len = b.readUInt32LE(off);
      if (len === 0 || off + 9 + len > b.length) break;
      const kind = b[off + 4]!;
      const p = off + 9;
      const keys: string[] = [];
      const pairs = (at: number, n: number): void => {
        for (let i = 0; i < n; i++) {
          const q = at + i * 12;
          keys.push(
            `${b.readUInt32LE(q)}:${b.readUInt32LE(q + 4) * 2 ** 32 + b.readUInt32LE(q + 8)}`,
          );
        }
      };
      // ENQUEUE_T (10) carries an f64 timestamp more than the older ENQUEUE (3).
      if (kind === 3) pairs(p + 11, b.readUInt16LE(p + 9));
      if (kind === 10) pairs(p + 19, b.readUInt16LE(p + 17));
      if (kind === 4) pairs(p + 4, b.readUInt32LE(p));
      if (kind === 1) keys.push(b.toString('utf8', p + 4, p + 4 + b.readUInt32LE(p)));
      out.push({ file, start: off, end: p + len, kind, keys });
      off = p + len;
      if (kind === 7) break; // SEAL: whatever follows is not part of this segment
    }
  }
  return out;
}

/** What the records say should be live: definitions and queue:seq keys. */
function replay(recs: Rec[]): { defs: string[]; live: string[] } {
  const defs = new Set<string>();
  const live = new Map<string, true>();
  for (const r of recs) {
    if (r.kind === 1) defs.add(r.keys[0]!);
    if (isEnqueueKind(r.kind)) for (const k of r.keys) live.set(k, true);
    if (r.kind === 4) for (const k of r.keys) live.delete(k);
  }
  return { defs: [...defs].sort(), live: [...live.keys()].sort() };
}

/**
 * A journal of several small segments (definitions, enqueues, settles) as a crash leaves it:
 * copied while open, so its last segment has no SEAL. `closed` gets the cleanly closed one.
 */
async function buildJournal(t: TestContext, closed = false): Promise<string> {
  const j = await openJournal(t, { segmentSize: 8 * 1024, compactRatio: 0 });
  const store = j.store;
  await recoverAll(store);
  const rand = prng(42);
  store.putDefinition('queue:/:a', { name: 'a' });
  const ms: StoredMessage[] = [];
  for (let i = 1; i <= 150; i++) {
    const m = message(Buffer.alloc(1 + Math.floor(rand() * 300), i & 0xff));
    store.enqueue(m, i % 7 === 0 ? [1, 2] : [1], i % 7 === 0 ? [i, i] : [i]);
    ms.push(m);
    if (i % 10 === 0) {
      await synced(store);
      store.settle(1, i - 3, ms[i - 4]!);
      if (i % 20 === 0) store.putDefinition(`queue:/:q${i}`, { n: i });
    }
  }
  await synced(store);
  const image = tempDir(t, 'baton-image-');
  cpSync(j.dir, image, { recursive: true });
  await store.close();
  return closed ? j.dir : image;
}

function lastSegment(dir: string): string {
  return join(
    dir,
    readdirSync(dir)
      .filter((f) => f.endsWith('.seg'))
      .sort()
      .pop()!,
  );
}

async function recoverCopy(t: TestContext, src: string, mutate: (dir: string) => void) {
  const dir = tempDir(t, 'baton-torn-');
  rmSync(dir, { recursive: true });
  cpSync(src, dir, { recursive: true });
  mutate(dir);
  const store = await JournalStore.open({ dir, compactRatio: 0 });
  try {
    const r = await recoverAll(store);
    const live = r.messages.map((m) => `${m.queueId}:${m.seq}`).sort();
    return { r, live, defs: [...r.definitions.keys()].sort(), dir };
  } finally {
    await store.close();
  }
}

for (const closed of [false, true]) {
  const variant = closed ? 'a cleanly closed journal' : 'a crash image';
  void it(`torn tail (${variant}): a cut anywhere in the last segment keeps exactly the whole records before it`, async (t) => {
    const src = await buildJournal(t, closed);
    const recs = walk(src);
    const last = lastSegment(src);
    const lastName = last.split('/').pop()!;
    assert.ok(new Set(recs.map((r) => r.file)).size >= 3, 'several segments');
    const size = statSync(last).size;
    const seed = seedFromEnv('BATON_TORN_SEED');
    const rand = prng(seed);
    const cuts = [0, 1, 4, 5, 8, 9, size - 1, size];
    while (cuts.length < 60) cuts.push(Math.floor(rand() * size));
    for (const cut of cuts) {
      const whole = recs.filter((r) => r.file !== lastName || r.end <= cut);
      const boundary = Math.max(0, ...whole.filter((r) => r.file === lastName).map((r) => r.end));
      const expected = replay(whole);
      const got = await recoverCopy(t, src, (dir) => truncateSync(lastSegment(dir), cut));
      const ctx = `seed ${seed} (BATON_TORN_SEED), cut at ${cut} of ${size}`;
      assert.deepEqual(got.live, expected.live, ctx);
      assert.deepEqual(got.defs, expected.defs, ctx);
      assert.equal(got.r.stats.truncatedBytes, cut - boundary, ctx);
      // Nothing is truncated away: a SEAL at the cut hides the torn bytes, which stay on disk.
      const after = statSync(join(got.dir, lastName)).size;
      assert.equal(after, cut === boundary ? cut : Math.max(cut, boundary + 14), ctx);
      if (cut > boundary) {
        const side = readFileSync(join(got.dir, `${lastName}.${boundary}.torn`));
        assert.deepEqual(side, readFileSync(last).subarray(boundary, cut), ctx);
      }
    }
  });
}

void it('torn tail: a zero-filled tail or appended garbage is cut, nothing else lost', async (t) => {
  const src = await buildJournal(t);
  const expected = replay(walk(src));
  const zeros = await recoverCopy(t, src, (dir) =>
    appendFileSync(lastSegment(dir), Buffer.alloc(4096)),
  );
  assert.deepEqual(zeros.live, expected.live);
  assert.deepEqual(zeros.defs, expected.defs);
  assert.equal(zeros.r.stats.truncatedBytes, 4096);
  const seed = seedFromEnv('BATON_GARBAGE_SEED');
  const rand = prng(seed);
  for (let round = 0; round < 10; round++) {
    const garbage = Buffer.alloc(1 + Math.floor(rand() * 2000));
    for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(rand() * 256);
    const got = await recoverCopy(t, src, (dir) => appendFileSync(lastSegment(dir), garbage));
    assert.deepEqual(got.live, expected.live, `seed ${seed} (BATON_GARBAGE_SEED) round ${round}`);
    assert.equal(got.r.stats.truncatedBytes, garbage.length, `seed ${seed} round ${round}`);
  }
});

void it('a flipped byte in a sealed segment stops recovery with an error naming the file', async (t) => {
  const src = await buildJournal(t);
  const recs = walk(src);
  const first = recs.filter((r) => r.file === recs[0]!.file);
  const victim = first[Math.floor(first.length / 2)]!;
  for (const at of [victim.start + 2, victim.start + 6, victim.start + 12, victim.end - 1]) {
    const dir = tempDir(t, 'baton-flip-');
    rmSync(dir, { recursive: true });
    cpSync(src, dir, { recursive: true });
    const path = join(dir, victim.file);
    const b = readFileSync(path);
    b[at] = b[at]! ^ 0x10;
    writeFileSync(path, b);
    const store = await JournalStore.open({ dir });
    await assert.rejects(recoverAll(store), (err: Error) => {
      assert.match(err.message, new RegExp(victim.file));
      assert.match(err.message, new RegExp(`offset ${victim.start}`));
      assert.equal((err as { code?: string }).code, 'BATON_STORE_CORRUPT');
      return true;
    });
    await store.close();
    assert.equal(statSync(path).size, b.length, 'a sealed segment is never truncated');
  }
});

void it('a flipped byte in the last record of the last segment drops only that record', async (t) => {
  const src = await buildJournal(t);
  const recs = walk(src);
  const victim = recs[recs.length - 1]!;
  const expected = replay(recs.slice(0, -1));
  const got = await recoverCopy(t, src, (dir) => {
    const path = join(dir, victim.file);
    const b = readFileSync(path);
    b[victim.end - 3] = b[victim.end - 3]! ^ 0x01;
    writeFileSync(path, b);
  });
  assert.deepEqual(got.live, expected.live);
  assert.equal(got.r.stats.truncatedBytes, victim.end - victim.start);
});

void it('a missing middle segment is refused; unrelated files are ignored', async (t) => {
  const src = await buildJournal(t);
  const files = readdirSync(src)
    .filter((f) => f.endsWith('.seg'))
    .sort();
  const extra = await recoverCopy(t, src, (dir) => {
    writeFileSync(join(dir, 'README.txt'), 'not a segment');
    writeFileSync(join(dir, '123.seg.tmp'), 'stray');
  });
  assert.deepEqual(extra.live, replay(walk(src)).live);
  const dir = tempDir(t, 'baton-missing-');
  rmSync(dir, { recursive: true });
  cpSync(src, dir, { recursive: true });
  unlinkSync(join(dir, files[1]!));
  const store = await JournalStore.open({ dir });
  await assert.rejects(recoverAll(store), new RegExp(`${files[1]}.*missing`));
  await store.close();
});

void it('a cleanly closed journal ends with a SEAL; bytes after it are ignored, not cut', async (t) => {
  const src = await buildJournal(t, true);
  const recs = walk(src);
  assert.equal(recs[recs.length - 1]!.kind, 7, 'SEAL last');
  const expected = replay(recs);
  const got = await recoverCopy(t, src, (dir) =>
    appendFileSync(lastSegment(dir), Buffer.from('stale bytes of a recycled file')),
  );
  assert.deepEqual(got.live, expected.live);
  assert.deepEqual(got.defs, expected.defs);
  assert.equal(got.r.stats.truncatedBytes, 0);
});

void it('after a crash every recovered message is flagged redelivered; after a clean close only those under the watermark', async (t) => {
  const j = await openJournal(t);
  await recoverAll(j.store);
  for (let i = 1; i <= 6; i++) j.store.enqueue(message(`m${i}`), [1], [i]);
  j.store.markDelivered(1, 2);
  await synced(j.store);
  // A delivery whose watermark never reached the disk: the crash image cannot know about it.
  j.store.markDelivered(1, 4);
  const image = tempDir(t, 'baton-unclean-');
  cpSync(j.dir, image, { recursive: true });
  const crashed = await recoverCopy(t, image, () => {});
  assert.deepEqual(
    crashed.r.messages.map((m) => m.redelivered),
    [true, true, true, true, true, true],
  );
  const store = await j.reopen();
  const clean = await recoverAll(store);
  assert.deepEqual(
    clean.messages.map((m) => [m.seq, m.redelivered]),
    [
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, false],
      [6, false],
    ],
  );
});

void it('segments larger than the 8 MiB scan chunk: records across chunk ends and larger than a chunk', async (t) => {
  const j = await openJournal(t, { segmentSize: 24 << 20, compactRatio: 0 });
  await recoverAll(j.store);
  const rand = prng(7);
  const sizes: number[] = [];
  let total = 0;
  for (let i = 1; total < 30 << 20; i++) {
    // Odd sizes, so records end at every possible distance from a chunk boundary; one body is
    // larger than a whole chunk.
    const size = i === 900 ? (9 << 20) + 3 : 1 + Math.floor(rand() * 40_000);
    const body = Buffer.alloc(size, i & 0xff);
    body.writeUInt32LE(i, 0);
    j.store.enqueue(message(body), [1], [i]);
    if (i % 3 === 0) j.store.settle(2, i, message('x'));
    sizes.push(size);
    total += size;
    if (i % 100 === 0) await synced(j.store);
  }
  await synced(j.store);
  const image = tempDir(t, 'baton-big-');
  cpSync(j.dir, image, { recursive: true });
  const check = (r: Awaited<ReturnType<typeof recoverAll>>, store: JournalStore, n: number) => {
    assert.equal(r.messages.length, n);
    r.messages.forEach((m, k) => {
      assert.equal(m.seq, k + 1);
      const body = store.readBody(m.message);
      assert.equal(body.length, sizes[k]);
      assert.equal(body.readUInt32LE(0), k + 1);
    });
  };
  const store = await j.reopen();
  const r = await recoverAll(store);
  check(r, store, sizes.length);
  assert.equal(r.stats.truncatedBytes, 0);
  // The crash image's last segment (no SEAL) cut in the middle of a record past the first chunk.
  const recs = walk(image);
  const lastName = lastSegment(image).split('/').pop()!;
  const inLast = recs.filter((x) => x.file === lastName && x.start > 8 << 20);
  assert.ok(inLast.length > 2, 'the last segment reaches past one chunk');
  const victim = inLast[Math.floor(inLast.length / 2)]!;
  const kept = recs.filter(
    (x) => isEnqueueKind(x.kind) && (x.file !== lastName || x.end <= victim.start),
  );
  const got = await recoverCopy(t, image, (dir) =>
    truncateSync(join(dir, lastName), victim.start + 5),
  );
  assert.equal(got.live.length, kept.length);
  assert.equal(got.r.stats.truncatedBytes, 5);
  // A flipped byte past the first chunk of a sealed segment names its exact offset.
  const firstName = recs[0]!.file;
  const deep = recs.find((x) => x.file === firstName && x.start > (8 << 20) + 1000)!;
  const dir = tempDir(t, 'baton-big-flip-');
  rmSync(dir, { recursive: true });
  cpSync(image, dir, { recursive: true });
  const b = readFileSync(join(dir, firstName));
  b[deep.end - 1] = b[deep.end - 1]! ^ 0x40;
  writeFileSync(join(dir, firstName), b);
  const broken = await JournalStore.open({ dir });
  await assert.rejects(
    recoverAll(broken),
    new RegExp(`${firstName} is corrupt at offset ${deep.start}`),
  );
  await broken.close();
});

// ---- damage in the newest segment: torn write or corruption? (record.ts "Sync proof") -----

/** A copy of `src` with the byte at `at` of its newest segment flipped. */
function flipped(t: TestContext, src: string, at: number): { dir: string; file: string } {
  const dir = tempDir(t, 'baton-flip-new-');
  rmSync(dir, { recursive: true });
  cpSync(src, dir, { recursive: true });
  const file = lastSegment(dir);
  const b = readFileSync(file);
  b[at] = b[at]! ^ 0x04;
  writeFileSync(file, b);
  return { dir, file };
}

void it('a flipped byte inside the newest segment with synced records after it refuses to start, naming file and offset', async (t) => {
  const src = await buildJournal(t);
  const recs = walk(src);
  const lastName = lastSegment(src).split('/').pop()!;
  const inLast = recs.filter((r) => r.file === lastName && isEnqueueKind(r.kind));
  assert.ok(inLast.length >= 4, 'the newest segment holds several messages');
  // The first, a middle and the last message record: each is followed by a BATCH record
  // (written only after a sync), so none of them can be a torn write.
  for (const victim of [inLast[0]!, inLast[inLast.length >> 1]!, inLast[inLast.length - 1]!]) {
    for (const at of [victim.start + 2, victim.start + 6, victim.end - 1]) {
      const { dir, file } = flipped(t, src, at);
      const before = readFileSync(file);
      const store = await JournalStore.open({ dir });
      await assert.rejects(recoverAll(store), (err: Error) => {
        assert.equal((err as { code?: string }).code, 'BATON_STORE_CORRUPT');
        assert.match(err.message, new RegExp(lastName));
        assert.match(err.message, new RegExp(`offset ${victim.start}\\b`));
        return true;
      });
      await store.close();
      assert.deepEqual(readFileSync(file), before, 'the evidence is left as it was');
    }
  }
});

void it('--recover-skip-corrupt skips exactly the damaged record, keeps its bytes aside and reports it', async (t) => {
  const src = await buildJournal(t);
  const recs = walk(src);
  const lastName = lastSegment(src).split('/').pop()!;
  const inLast = recs.filter((r) => r.file === lastName && isEnqueueKind(r.kind));
  const victim = inLast[inLast.length >> 1]!;
  const expected = replay(recs.filter((r) => r !== victim));
  for (const at of [victim.start + 6, victim.end - 1, victim.start + 1]) {
    const { dir } = flipped(t, src, at);
    const store = await JournalStore.open({ dir, skipCorrupt: true, compactRatio: 0 });
    const r = await recoverAll(store);
    await store.close();
    const live = r.messages.map((m) => `${m.queueId}:${m.seq}`).sort();
    assert.deepEqual(live, expected.live, `flip at ${at}`);
    assert.equal(r.stats.skippedRanges, 1);
    assert.equal(r.stats.skippedBytes, victim.end - victim.start, `flip at ${at}`);
    const d = r.stats.damage.find((x) => x.kind === 'corrupt')!;
    assert.equal(d.offset, victim.start);
    const side = readFileSync(join(dir, `${lastName}.${victim.start}.corrupt`));
    assert.equal(side.length, victim.end - victim.start);
  }
});

void it('a flipped byte in the newest, unsynced batch is a torn write: cut, the rest kept', async (t) => {
  const j = await openJournal(t, { segmentSize: 1 << 20, compactRatio: 0 });
  await recoverAll(j.store);
  for (let i = 1; i <= 20; i++) j.store.enqueue(message(`synced ${i}`), [1], [i]);
  await synced(j.store);
  const image = tempDir(t, 'baton-unsynced-');
  cpSync(j.dir, image, { recursive: true });
  // What a power cut can leave: the records of a batch that was written but not yet synced
  // (no BATCH record after them), one of them damaged.
  const file = lastSegment(image);
  const good = readFileSync(file);
  for (let i = 21; i <= 30; i++) j.store.enqueue(message(`unsynced ${i}`), [1], [i]);
  await synced(j.store);
  // The marker after the first sync is not counted: the next batch's header overwrites it.
  const base = good.length - 21;
  const after = readFileSync(lastSegment(j.dir));
  // After `base`: the batch's BATCH header, ten records, then the marker after its sync. Keep
  // everything but that last marker, with a byte of the fifth record flipped.
  const unsynced = Buffer.from(after.subarray(base, after.length - 21));
  let off = 21;
  for (let k = 0; k < 4; k++) off += 9 + unsynced.readUInt32LE(off);
  unsynced[off + 12] = unsynced[off + 12]! ^ 0x01;
  writeFileSync(file, Buffer.concat([good.subarray(0, base), unsynced]));
  const got = await recoverCopy(t, image, () => {});
  assert.deepEqual(
    got.r.messages.map((m) => m.seq),
    Array.from({ length: 24 }, (_, i) => i + 1),
    'the synced records and the whole ones before the damage',
  );
  assert.equal(got.r.stats.damage[0]!.kind, 'torn');
});

void it('a power cut at a segment roll (new segment lost, old one sealed by the roll) is not a clean shutdown', async (t) => {
  const j = await openJournal(t, { segmentSize: 4096, compactRatio: 0 });
  await recoverAll(j.store);
  for (let i = 1; i <= 40; i++) j.store.enqueue(message(Buffer.alloc(300, i)), [1], [i]);
  j.store.markDelivered(1, 40);
  await synced(j.store);
  const image = tempDir(t, 'baton-roll-');
  cpSync(j.dir, image, { recursive: true });
  const got = await recoverCopy(t, image, (dir) => rmSync(lastSegment(dir)));
  assert.ok(got.r.messages.length > 0);
  assert.ok(
    got.r.messages.every((m) => m.redelivered),
    'every possibly delivered message is flagged',
  );
  assert.equal(got.r.stats.clean, false);
});

void it('after a clean close, deliveries whose watermark was not yet written still come back flagged after a crash', async (t) => {
  const j = await openJournal(t, { compactRatio: 0 });
  await recoverAll(j.store);
  for (let i = 1; i <= 5; i++) j.store.enqueue(message(`m${i}`), [1], [i]);
  const store = await j.reopen();
  const r = await recoverAll(store);
  assert.equal(r.stats.clean, true);
  assert.ok(r.messages.every((m) => !m.redelivered));
  // Delivered, then the process dies before the watermark's batch is written.
  store.markDelivered(1, 5);
  const image = tempDir(t, 'baton-after-clean-');
  cpSync(j.dir, image, { recursive: true });
  const got = await recoverCopy(t, image, () => {});
  assert.equal(got.r.stats.clean, false);
  assert.ok(got.r.messages.every((m) => m.redelivered));
});

void it('a skip is remembered by its side file: later starts without the flag skip the same bytes, new damage still refuses', async (t) => {
  const src = await buildJournal(t);
  const recs = walk(src);
  const lastName = lastSegment(src).split('/').pop()!;
  const inLast = recs.filter((r) => r.file === lastName && isEnqueueKind(r.kind));
  const victim = inLast[1]!;
  const { dir, file } = flipped(t, src, victim.end - 2);
  const skipping = await JournalStore.open({ dir, skipCorrupt: true, compactRatio: 0 });
  const first = await recoverAll(skipping);
  await skipping.close();
  const again = await JournalStore.open({ dir, compactRatio: 0 });
  const second = await recoverAll(again);
  await again.close();
  assert.deepEqual(
    second.messages.map((m) => `${m.queueId}:${m.seq}`).sort(),
    first.messages.map((m) => `${m.queueId}:${m.seq}`).sort(),
  );
  assert.equal(second.stats.damage[0]!.known, true);
  // Fresh damage elsewhere in that segment (no longer the newest) is refused as before.
  const other = inLast[inLast.length - 1]!;
  const b = readFileSync(file);
  b[other.start + 12] = b[other.start + 12]! ^ 0x02;
  writeFileSync(file, b);
  const strict = await JournalStore.open({ dir });
  await assert.rejects(recoverAll(strict), new RegExp(`offset ${other.start}\\b`));
  await strict.close();
});

void it('a BATCH look-alike inside a message body is no sync proof: a torn write before it is still a torn tail', async (t) => {
  const j = await openJournal(t, { segmentSize: 1 << 20, compactRatio: 0 });
  await recoverAll(j.store);
  j.store.enqueue(message('synced'), [1], [1]);
  await synced(j.store);
  const image = tempDir(t, 'baton-lookalike-');
  cpSync(j.dir, image, { recursive: true });
  const file = lastSegment(image);
  const good = readFileSync(file);
  const base = good.length - 21;
  // An unsynced batch: a damaged record, then a message whose body is a BATCH record valid in
  // every way except the key-derived tag (which the publisher cannot know).
  const fake = Buffer.alloc(21);
  const at = base + 200;
  fake.writeUInt32LE(12, 0);
  fake[4] = 8;
  fake.writeUInt32LE(at, 9);
  fake.writeUInt32LE(21, 13);
  const { crc32c, crc32cByte } = await import('../../src/store/journal/crc32c.js');
  fake.writeUInt32LE(crc32c(fake, 9, 21, crc32cByte(8, lastSegmentId(file))), 5);
  const torn = Buffer.alloc(200 + 21, 0x55);
  fake.copy(torn, 200);
  writeFileSync(file, Buffer.concat([good.subarray(0, base), torn]));
  const got = await recoverCopy(t, image, () => {});
  assert.deepEqual(
    got.r.messages.map((m) => m.seq),
    [1],
  );
  assert.equal(got.r.stats.damage[0]!.kind, 'torn');
});

function lastSegmentId(path: string): number {
  return Number(path.split('/').pop()!.slice(0, 20));
}
