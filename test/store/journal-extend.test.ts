import assert from 'node:assert/strict';
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { message, openJournal, recoverAll, synced, tempDir } from './helpers.js';

/** The smallest segment size whose new files are extended (journal-log.ts EXTEND_MIN). */
const SEG = 16 * 1024 * 1024;

function segSizes(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => statSync(join(dir, f)).size);
}

void it('a new segment file is made full size at once; after a crash its zero tail is cut, every record kept', async (t) => {
  const j = await openJournal(t, { segmentSize: SEG });
  await recoverAll(j.store);
  for (let i = 1; i <= 300; i++) j.store.enqueue(message(`m${i}`), [1], [i]);
  await synced(j.store);
  assert.deepEqual(segSizes(j.dir), [SEG], 'extended before its first batch');
  // A crash image: the directory as it is now, no clean close (no SEAL).
  const crashed = tempDir(t, 'baton-extend-crash-');
  cpSync(j.dir, crashed, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
  const c = await openJournal(t, { dir: crashed, segmentSize: SEG });
  const r = await recoverAll(c.store);
  assert.deepEqual(
    r.messages.map((m) => m.message.body!.toString()),
    Array.from({ length: 300 }, (_, i) => `m${i + 1}`),
  );
  // The zeros are no damage that needs a side file, and nothing is refused.
  assert.deepEqual(
    readdirSync(crashed).filter((f) => f.includes('.torn') || f.includes('.corrupt')),
    [],
  );
  // And it stays readable: the next start (the cut segment now sealed, older) agrees.
  const r2 = await recoverAll(await c.reopen());
  assert.equal(r2.messages.length, 300);
});

void it('small segments keep growing with their records (not extended)', async (t) => {
  const j = await openJournal(t, { segmentSize: 1024 * 1024 });
  await recoverAll(j.store);
  for (let i = 1; i <= 10; i++) j.store.enqueue(message(`m${i}`), [1], [i]);
  await synced(j.store);
  const [size] = segSizes(j.dir);
  assert.ok(size! < 4096, `the file holds only its records: ${size}`);
});
