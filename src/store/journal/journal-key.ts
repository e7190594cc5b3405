import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const NAME = 'JOURNAL_KEY';

/**
 * The journal's secret: a random 32-bit number in `<dir>/JOURNAL_KEY`, made once. BATCH
 * records (the sync proofs) carry a tag derived from it, which message bodies cannot forge:
 * nobody outside the data directory ever sees it. Losing the file only weakens recovery's
 * corruption check for the segments written before (their proofs no longer count).
 */
export function journalKey(dir: string): number {
  const path = join(dir, NAME);
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f]{8}$/.test(text)) return parseInt(text, 16) >>> 0;
  } catch {
    // No key yet (a new or an older journal): make one below.
  }
  const key = randomBytes(4).readUInt32LE(0);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${key.toString(16).padStart(8, '0')}\n`);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return key;
}
