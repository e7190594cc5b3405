import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import type { SpillRecord } from '../../src/store/spill.js';
import { FileSpill } from '../../src/store/spill/file-spill.js';
import { tempDir } from './helpers.js';

function record(i: number): SpillRecord {
  // Some bodies larger than the write buffer, so they get a write of their own.
  const body = Buffer.alloc(i % 17 === 0 ? 3000 : (i * 13) % 300, i & 0xff);
  return {
    exchange: i % 2 === 0 ? 'amq.topic' : '',
    routingKey: `rk.${i}.é`,
    properties: Buffer.from([0x90, 0x00, i & 0xff]),
    body,
    priority: i % 10,
    expiresAt: i % 3 === 0 ? 1_800_000_000_000 + i : 0,
    timestamp: i % 5 === 0 ? 0 : 1_700_000_000_000 + i * 1.25,
    persistent: i % 4 === 0,
  };
}

void it('spill round trip keeps every field, timestamps exactly, from the buffer and from files', (t) => {
  const spill = new FileSpill({
    dir: join(tempDir(t, 'baton-spill-'), 'transient'),
    fileSize: 8192,
    chunkSize: 1024,
  });
  t.after(() => spill.close());
  const s = spill.stream(1);
  // Read back while still in the write buffer.
  s.append(record(1));
  assert.deepEqual(s.shift(), record(1));
  for (let i = 2; i <= 300; i++) s.append(record(i));
  assert.ok(spill.stats().files > 3, 'several spill files');
  for (let i = 2; i <= 300; i++) assert.deepEqual(s.shift(), record(i), `record ${i}`);
  assert.equal(s.length, 0);
});
