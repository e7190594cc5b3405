/**
 * A `baton serve` child process for fault tests that need more than `spawnBroker` in
 * server.ts gives: extra environment (LD_PRELOAD for faketime), its log lines (to spot
 * InternalErrors), its RSS, and SIGSTOP/SIGCONT. Killed after the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

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
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'baton-fault-'));
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--amqp-port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  };
  t.after(async () => {
    await stop();
    if (owned) rmSync(dataDir, { recursive: true, force: true });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      for (const l of lines) {
        const m = /"protocol":"amqp".*?"port":(\d+)/.exec(l);
        if (m) {
          clearInterval(timer);
          resolve(Number(m[1]));
          return;
        }
      }
    }, 10);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`broker exited with ${code}: ${stderr}${lines.join('\n')}`));
    });
  });
  const pid = child.pid!;
  return {
    child,
    pid,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    lines,
    errors: () =>
      lines.filter((l) => {
        const m = /"level":(\d+)/.exec(l);
        return m !== null && Number(m[1]) >= 50;
      }),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    memory: () => procMemory(pid),
    stop,
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
