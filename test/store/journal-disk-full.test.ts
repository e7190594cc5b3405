// The journal on a real full filesystem (a small tmpfs): a write that finds no space is kept
// and retried, nothing is confirmed or failed meanwhile, and everything goes through once
// space is back. Needs root (mount); skipped otherwise, failed under BATON_REQUIRE_ALL=1.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import type { StoredMessage } from '../../src/store/store.js';
import { message, openJournal, recoverAll, synced } from './helpers.js';

function mountTmpfs(t: TestContext, size: string): string | undefined {
  const why =
    process.getuid?.() !== 0
      ? 'not root: cannot mount a tmpfs'
      : mountable()
        ? undefined
        : 'mount -t tmpfs failed';
  if (why !== undefined) {
    if (process.env.BATON_REQUIRE_ALL === '1') assert.fail(`required: ${why}`);
    t.skip(`skipped: ${why}`);
    return undefined;
  }
  const mnt = mkdtempSync(join(tmpdir(), 'baton-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
  t.after(() => {
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  return mnt;
}

function mountable(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'baton-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Fill the filesystem at `dir` up with one file (dd stops at ENOSPC); returns its path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${path}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // dd exits non-zero when the disk is full: that is the point.
  }
  return path;
}

void it('disk full: the write waits (no confirm, no failure), acks are kept, and it all goes through once space is back', async (t) => {
  const mnt = mountTmpfs(t, '4m');
  if (mnt === undefined) return;
  const dir = join(mnt, 'journal');
  mkdirSync(dir);
  const j = await openJournal(t, { dir, segmentSize: 1 << 20 });
  const store = j.store;
  const stalls: (Error | undefined)[] = [];
  store.listen({ stalled: (e) => stalls.push(e), failed: (e) => assert.fail(e) });
  await recoverAll(store);
  const ms: StoredMessage[] = [];
  for (let i = 1; i <= 10; i++) {
    const m = message(Buffer.alloc(1000, i));
    store.enqueue(m, [1], [i]);
    ms.push(m);
  }
  await synced(store);
  const filler = fill(mnt);
  // Acks of synced messages and new messages, while the disk is full.
  for (let i = 1; i <= 5; i++) store.settle(1, i, ms[i - 1]!);
  for (let i = 11; i <= 40; i++) store.enqueue(message(Buffer.alloc(20_000, i)), [1], [i]);
  let confirmed: Error | undefined | 'pending' = 'pending';
  store.afterSync((err) => (confirmed = err));
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(confirmed, 'pending', 'nothing is confirmed or failed while the disk is full');
  assert.ok(store.stall !== undefined, 'the store says it is stalled');
  assert.equal(store.failure, undefined);
  assert.ok(stalls.length === 1 && stalls[0] instanceof Error);
  assert.ok(store.stats().writeRetries >= 1);
  rmSync(filler);
  await new Promise<void>((resolve) => {
    const wait = setInterval(() => {
      if (confirmed !== 'pending') {
        clearInterval(wait);
        resolve();
      }
    }, 20);
  });
  assert.equal(confirmed, undefined, 'confirmed once space is back');
  assert.equal(stalls[1], undefined, 'told that writes flow again');
  assert.equal(store.stall, undefined);
  const store2 = await j.reopen();
  const r = await recoverAll(store2);
  assert.deepEqual(
    r.messages.map((m) => m.seq),
    Array.from({ length: 35 }, (_, i) => i + 6),
    'the acks made while the disk was full were kept',
  );
});
