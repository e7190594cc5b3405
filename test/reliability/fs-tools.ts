// Root-only file system tools for the fault tests: loop-mounted ext4 images (power cuts), tmpfs
// (full disk), the machine-wide writeback knob, and capability probes that say why a test
// cannot run. Every mount is undone in t.after.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Why loop-mounted images cannot be used here, or undefined if they can. */
export function loopUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a loop image';
  for (const c of ['losetup', 'mkfs.ext4', 'mount', 'umount'])
    if (!has(c)) return `${c} not installed (apt-get install e2fsprogs mount)`;
  if (!existsSync('/dev/loop-control')) return 'no /dev/loop-control';
  return undefined;
}

export function tmpfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount tmpfs';
  return undefined;
}

export function fiuUnavailable(): string | undefined {
  for (const c of ['fiu-run', 'fiu-ctrl'])
    if (!has(c)) return `${c} missing (apt-get install fiu-utils)`;
  if (!existsSync('/usr/lib/fiu/fiu_posix_preload.so')) return 'fiu posix preload library missing';
  return undefined;
}

/** Unmount `dir` now and again after the test if still mounted (lazy as a last resort). */
export function umount(dir: string): void {
  const r = spawnSync('umount', [dir]);
  if (r.status !== 0 && isMounted(dir)) sh('umount', ['-l', dir]);
}

export function isMounted(dir: string): boolean {
  return spawnSync('mountpoint', ['-q', dir]).status === 0;
}

/**
 * An ext4 image mounted with a 600 s journal commit, so only fsynced data (or data the kernel
 * happened to write back) is in the image file: copying the file right after SIGKILL is the
 * power cut (reliability.md §8).
 */
export class LoopImage {
  readonly mnt: string;
  /** The image currently mounted at `mnt`. */
  image: string;
  private spare: string;
  constructor(t: TestContext, dir: string, sizeMiB = 256) {
    this.mnt = `${dir}/mnt`;
    this.image = `${dir}/a.img`;
    this.spare = `${dir}/b.img`;
    mkdirSync(this.mnt, { recursive: true });
    sh('truncate', ['-s', `${sizeMiB}M`, this.image]);
    sh('mkfs.ext4', ['-q', '-F', this.image]);
    this.mount();
    t.after(() => {
      if (isMounted(this.mnt)) umount(this.mnt);
    });
  }
  private mount(): void {
    sh('mount', ['-o', 'loop,commit=600', this.image, this.mnt]);
  }
  /**
   * The power cut: copy the image as it is on "disk" now (call it right after SIGKILL), throw
   * away the page cache by unmounting the original, and mount the copy in its place. Returns
   * the milliseconds the copy took.
   */
  powerCut(): number {
    const t0 = Date.now();
    sh('cp', ['--sparse=always', this.image, this.spare]);
    const ms = Date.now() - t0;
    umount(this.mnt);
    [this.image, this.spare] = [this.spare, this.image];
    this.mount();
    return ms;
  }
}

/** Mount a tmpfs of `sizeMiB` at `dir`, unmounted after the test. */
export function mountTmpfs(t: TestContext, dir: string, sizeMiB: number): void {
  mkdirSync(dir, { recursive: true });
  sh('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  t.after(() => {
    if (isMounted(dir)) umount(dir);
  });
}

const DIRTY_EXPIRE = '/proc/sys/vm/dirty_expire_centisecs';
/** Shared by every test process holding the knob: the original value and one marker per holder. */
const HOLD_DIR = '/tmp/baton-writeback-hold';
let holds = 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Raise vm.dirty_expire_centisecs so the kernel does not write dirty pages back during the run
 * (making the cut strict). Machine-wide, and test files run in parallel: the original value is
 * kept in HOLD_DIR by the first holder, and the last live holder to finish puts it back (also
 * when the runner kills this file on a timeout, which skips t.after). False if not writable.
 */
export function holdWriteback(t: TestContext, centisecs = 60000): boolean {
  const marker = `${HOLD_DIR}/${process.pid}-${++holds}`;
  try {
    mkdirSync(HOLD_DIR, { recursive: true });
    const current = readFileSync(DIRTY_EXPIRE, 'utf8').trim();
    try {
      // Only when no holder (live or crashed) recorded it before us.
      writeFileSync(`${HOLD_DIR}/orig`, current, { flag: 'wx' });
    } catch {
      // already recorded
    }
    writeFileSync(marker, '');
    writeFileSync(DIRTY_EXPIRE, String(centisecs));
  } catch {
    return false;
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    rmSync(marker, { force: true });
    const others = readdirSync(HOLD_DIR).filter(
      (n) => n !== 'orig' && alive(Number(n.split('-')[0])) && `${HOLD_DIR}/${n}` !== marker,
    );
    if (others.length > 0) return;
    try {
      writeFileSync(DIRTY_EXPIRE, readFileSync(`${HOLD_DIR}/orig`, 'utf8'));
      rmSync(HOLD_DIR, { recursive: true, force: true });
    } catch {
      // another holder restored it first
    }
  };
  t.after(release);
  process.once('exit', release);
  process.once('SIGTERM', () => {
    release();
    process.exit(143);
  });
  return true;
}
