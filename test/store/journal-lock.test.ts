import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { message, recoverAll, synced, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./lock-child.js', import.meta.url));

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid;
}

void it('a second open of a locked data directory fails naming it and the holder', async (t) => {
  const dir = tempDir(t);
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  assert.equal(pid, child.pid);
  assert.match(readFileSync(join(dir, 'LOCK'), 'utf8'), new RegExp(`^pid ${pid}$`, 'm'));
  await assert.rejects(JournalStore.open({ dir }), (err: Error) => {
    assert.ok(err.message.includes(dir), err.message);
    assert.ok(err.message.includes(`pid ${pid}`), err.message);
    return true;
  });
  // Killed, the holder leaves its lock file behind: the next open takes it over.
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(existsSync(join(dir, 'LOCK')));
  const store = await JournalStore.open({ dir });
  assert.match(readFileSync(join(dir, 'LOCK'), 'utf8'), new RegExp(`^pid ${process.pid}$`, 'm'));
  await recoverAll(store);
  store.enqueue(message('after takeover'), [1], [1]);
  await synced(store);
  await store.close();
  assert.equal(existsSync(join(dir, 'LOCK')), false, 'close removes the lock');
});

void it('a clean close by the holder releases the lock for another process', async (t) => {
  const dir = tempDir(t);
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdin.end();
  assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
  assert.equal(existsSync(join(dir, 'LOCK')), false);
  const store = await JournalStore.open({ dir });
  await store.close();
});

void it('stale lock files are taken over; a live one in this process is not', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'LOCK');
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  // The owner has exited.
  writeFileSync(lock, `pid ${deadPid()}\nboot ${boot}\n`);
  let store = await JournalStore.open({ dir });
  await store.close();
  // Written before a reboot: pid 1 is alive now, but it is not that process.
  writeFileSync(lock, `pid 1\nboot 00000000-0000-0000-0000-000000000000\n`);
  store = await JournalStore.open({ dir });
  // Two stores of one process on one directory: refused too.
  await assert.rejects(
    JournalStore.open({ dir }),
    /in use by another process \(pid \d+, this one\)/,
  );
  await store.close();
  // A lock naming this process that it does not hold (a copied data directory) is stale.
  writeFileSync(lock, `pid ${process.pid}\nboot ${boot}\n`);
  store = await JournalStore.open({ dir });
  await store.close();
  // A live process of this boot: refused.
  writeFileSync(lock, `pid 1\nboot ${boot}\n`);
  await assert.rejects(JournalStore.open({ dir }), /in use by another process \(pid 1\)/);
  // An unreadable (just created) lock file: refused while fresh.
  writeFileSync(lock, '');
  await assert.rejects(JournalStore.open({ dir }), /is being locked by another process/);
});

void it('the lock file is written whole before it appears; drafts of dead lockers are removed', async (t) => {
  const dir = tempDir(t);
  // What a process killed while locking leaves now: its draft, never an empty LOCK.
  const dead = join(dir, `LOCK.draft-${deadPid()}`);
  writeFileSync(dead, `pid 1\n`);
  // A live process's draft (it may be locking right now) is left alone.
  const live = join(dir, 'LOCK.draft-1');
  writeFileSync(live, `pid 1\n`);
  const store = await JournalStore.open({ dir });
  assert.match(readFileSync(join(dir, 'LOCK'), 'utf8'), new RegExp(`^pid ${process.pid}\n`));
  assert.equal(existsSync(dead), false);
  assert.equal(existsSync(live), true);
  assert.equal(existsSync(join(dir, `LOCK.draft-${process.pid}`)), false);
  await store.close();
  assert.equal(existsSync(join(dir, 'LOCK')), false);
});
