/**
 * A `baton serve` child process for fault tests that need more than `spawnBroker` in
 * server.ts gives: extra environment (LD_PRELOAD for faketime), its log lines (to spot
 * InternalErrors), its RSS, and SIGSTOP/SIGCONT. Built on test/helpers/broker-process.ts:
 * ready by --ready-fd, killed, awaited and checked for leaks after the test.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { startBrokerProcess } from './broker-process.js';

export interface BrokerChild {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** Every stdout line (pino JSON) so far. */
  lines: string[];
  /** Log lines at error level or above (pino level >= 50). */
  errors(): string[];
  exited(): boolean;
  /** Resident set size and its peak, in KiB, from /proc. */
  memory(): { rssKiB: number; hwmKiB: number };
  stop(): Promise<void>;
}

export interface BrokerChildOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
}

export async function spawnBrokerChild(
  t: TestContext,
  options: BrokerChildOptions = {},
): Promise<BrokerChild> {
  const b = await startBrokerProcess(t, options);
  const pid = b.pid;
  return {
    child: b.child,
    pid,
    port: b.port,
    url: b.url,
    lines: b.lines,
    errors: () => b.lines.filter((l) => /"level":"(error|fatal)"/.test(l)),
    exited: () => !b.alive(),
    memory: () => procMemory(pid),
    stop: () => b.stop(),
  };
}

/** VmRSS and VmHWM of a process, in KiB. */
export function procMemory(pid: number): { rssKiB: number; hwmKiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return { rssKiB: get('VmRSS'), hwmKiB: get('VmHWM') };
}

/** Open file descriptors of a process (sockets included). */
export function procFdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** True when `cmd` runs (`cmd --version` or `cmd -V` exits 0). */
export function haveTool(cmd: string, args = ['--version']): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/**
 * Skips the test with "skipped: reason" — or fails it when BATON_REQUIRE_ALL=1 (CI), where a
 * missing capability must not pass silently. Returns true when the caller should return.
 */
export function requireCapability(t: TestContext, ok: boolean, reason: string): boolean {
  if (ok) return false;
  if (process.env.BATON_REQUIRE_ALL === '1')
    throw new Error(`required capability missing: ${reason}`);
  t.skip(`skipped: ${reason}`);
  return true;
}

/** The libfaketime preload library, if installed. */
export function libfaketime(): string | undefined {
  for (const p of [
    '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
    '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
    '/usr/lib/faketime/libfaketime.so.1',
  ])
    if (existsSync(p)) return p;
  return undefined;
}
