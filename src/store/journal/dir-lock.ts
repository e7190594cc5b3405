import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'LOCK';

/** Directories this process holds the lock of (a lock file naming this pid may be a copy). */
const held = new Set<string>();

/** This boot's id (Linux), so a lock left before a reboot is stale whatever its pid is now. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

interface Owner {
  pid: number;
  boot: string;
}

/** `pid <n>\nboot <id>\n`; undefined if the file does not say (being written, or foreign). */
function parse(text: string): Owner | undefined {
  const pid = /^pid (\d+)$/m.exec(text);
  if (pid === null) return undefined;
  return { pid: Number(pid[1]), boot: /^boot (\S+)$/m.exec(text)?.[1] ?? '' };
}

function alive(owner: Owner, dir: string): boolean {
  const boot = bootId();
  if (owner.boot !== '' && boot !== '' && owner.boot !== boot) return false;
  if (owner.pid === process.pid) return held.has(dir);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on a data directory, so two brokers never append to the same journal:
 * the file `<dir>/LOCK`, created whole (a draft hard-linked into place, which fails if it
 * exists) and holding the owner's pid and boot id. A lock
 * whose owner is gone (no such pid, or written before the last reboot, or naming this process
 * without this process holding it, as in a copied directory) is stale and taken over; one
 * whose owner is alive makes `acquire` throw. Released (deleted) on close; after a crash the
 * file stays and the next start takes it over. Advisory and local: it does not protect a
 * directory shared over a network file system.
 */
export class DirLock {
  readonly dir: string;
  readonly path: string;
  private readonly text: string;
  private released = false;

  private constructor(dir: string, text: string) {
    this.dir = dir;
    this.path = join(dir, LOCK_FILE);
    this.text = text;
  }

  /** Lock `dir` (an absolute, resolved path) or throw naming the holder. */
  static acquire(dir: string): DirLock {
    const path = join(dir, LOCK_FILE);
    const boot = bootId();
    const text = `pid ${process.pid}\n${boot === '' ? '' : `boot ${boot}\n`}`;
    // Written whole under a name of its own, then linked as LOCK (which fails if LOCK exists):
    // a process killed while locking never leaves an empty LOCK that the next start, moments
    // later in a crash loop, would have to take for one being written.
    const draft = join(dir, `${DRAFT_PREFIX}${process.pid}`);
    writeDurably(draft, text);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(draft, path);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EEXIST' && attempt < 3) {
            takeOverStale(dir, path);
            continue;
          }
          // A file system without hard links: create LOCK in place, as before.
          if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
            createInPlace(path, text, dir);
            break;
          }
          throw err;
        }
        break;
      }
    } finally {
      unlinkQuietly(draft);
    }
    removeDeadDrafts(dir);
    held.add(dir);
    return new DirLock(dir, text);
  }

  /** Delete the lock file if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.dir);
    try {
      if (readFileSync(this.path, 'utf8') === this.text) unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

/** `LOCK.draft-<pid>`: a lock file being written, before it is linked as LOCK. */
const DRAFT_PREFIX = `${LOCK_FILE}.draft-`;

function writeDurably(path: string, text: string): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** O_EXCL creation, then the content (a crash in between leaves an empty LOCK). */
function createInPlace(path: string, text: string, dir: string): void {
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      takeOverStale(dir, path);
      continue;
    }
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

/** Drafts left by processes killed while locking (the lock holder cleans up after them). */
function removeDeadDrafts(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DRAFT_PREFIX)) continue;
    const pid = Number(name.slice(DRAFT_PREFIX.length));
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!alive({ pid, boot: '' }, dir)) unlinkQuietly(join(dir, name));
  }
}

/** Remove the existing lock file at `path` if its owner is gone; throw if it is alive. */
function takeOverStale(dir: string, path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // released meanwhile
    throw err;
  }
  const owner = parse(text);
  if (owner === undefined) {
    // Just created by someone who has not written it yet, or left empty by a crash then.
    let age = Infinity;
    try {
      age = Date.now() - statSync(path).mtimeMs;
    } catch {
      return;
    }
    if (age < 5000) {
      throw new Error(
        `data directory ${dir} is being locked by another process (${path} was just created); ` +
          'is another broker starting on it?',
      );
    }
  } else if (alive(owner, dir)) {
    throw new Error(
      `data directory ${dir} is in use by another process (pid ${owner.pid}` +
        `${owner.pid === process.pid ? ', this one' : ''}) holding ${path}; ` +
        'stop it first, or delete the lock file if you are sure it is not running',
    );
  }
  // Move the stale file aside (atomic) and check that it is the one judged stale, not a
  // lock another process created meanwhile.
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = readFileSync(aside, 'utf8');
  unlinkSync(aside);
  if (moved !== text) {
    throw new Error(
      `data directory ${dir}: another process took over its stale lock at the same time`,
    );
  }
}
