/**
 * `baton serve` as a child process: the one implementation behind spawnBroker (server.ts),
 * spawnBrokerChild (broker-child.ts) and the fault tests' launch (reliability/broker.ts).
 *
 * Readiness comes from `--ready-fd 3` (a JSON line with the pid and ports), never from log
 * lines. Teardown invariants, checked in t.after: the child is killed (SIGCONT then SIGKILL, so
 * a stopped one dies too), its exit is awaited, a process that is still there fails the test
 * as a leak, and a data dir the helper made is removed after the process is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { waitReady, type ReadyInfo } from '../../src/cli/ready.js';

export type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const READY_FD = 3;
/** How long teardown waits for a SIGKILLed broker to be reaped before calling it a leak. */
const EXIT_GRACE_MS = 10_000;

/** One `--log-format json` line: pino's record with the level by name and an ISO `time`. */
export interface LogLine {
  level: LevelName;
  time: string;
  msg?: string;
  [k: string]: unknown;
}

export interface BrokerProcessOptions {
  /** Data dir; when absent a temp one is made and removed at teardown. */
  dataDir?: string;
  /** Extra `baton serve` arguments. */
  args?: string[];
  /** AMQP port; 0 (the default) for a free one. A restart passes the old one so clients find it again. */
  amqpPort?: number;
  env?: NodeJS.ProcessEnv;
  /** Command and arguments put in front of `node main.js serve …` (e.g. ['fiu-run', '-x']). */
  wrapper?: string[];
}

export class BrokerProcess {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly spawnedAt = Date.now();
  /** Every stdout line (pino JSON), in order. */
  readonly lines: string[] = [];
  /** The stdout lines that parse as JSON. */
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** The ready line; undefined if the broker exited (or closed fd 3) first. */
  readonly ready: Promise<ReadyInfo | undefined>;
  /** AMQP port once listening; undefined if it exited first. */
  readonly listening: Promise<number | undefined>;
  port = 0;
  listeningAt = 0;

  constructor(t: TestContext, o: BrokerProcessOptions = {}) {
    const owned = o.dataDir === undefined;
    this.dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'baton-child-'));
    const argv = [
      cli,
      'serve',
      '--amqp-port',
      String(o.amqpPort ?? 0),
      '--host',
      '127.0.0.1',
      '--data-dir',
      this.dataDir,
      '--ready-fd',
      String(READY_FD),
      // Fixed default ports would collide between parallel tests; a test that wants them passes 0.
      '--http-port',
      'off',
      '--prometheus-port',
      'off',
      '--log-format',
      'json',
      ...(o.args ?? []),
    ];
    const [cmd, ...pre] = o.wrapper ?? [];
    const spawnOptions = {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'] as ('ignore' | 'pipe')[],
      env: { ...process.env, ...o.env },
    };
    this.child =
      cmd === undefined
        ? spawn(process.execPath, argv, spawnOptions)
        : spawn(cmd, [...pre, process.execPath, ...argv], spawnOptions);
    const child = this.child;
    this.exited = once(child, 'exit').then(([code, signal]) =>
      code === null ? String(signal) : Number(code),
    );
    t.after(async () => {
      await this.stop();
      if (owned) rmSync(this.dataDir, { recursive: true, force: true });
    });
    // Always drain both pipes: a full stdout pipe would block the broker's synchronous logging.
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      const s = d.toString();
      this.stdout += s;
      partial += s;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        this.lines.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // Not a log line (a wrapper's output): kept in `lines` only.
        }
      }
    });
    this.ready = waitReady(child, READY_FD);
    this.listening = this.ready.then((r) => {
      const port = r?.ports.amqp;
      if (port === undefined) return undefined;
      this.port = port;
      this.listeningAt = Date.now();
      return port;
    });
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }
  get pid(): number {
    return this.child.pid!;
  }
  /** Milliseconds from spawn to the ready line. */
  get startupMs(): number {
    return this.listeningAt - this.spawnedAt;
  }
  /** Everything the process printed, for assertion messages. */
  output(): string {
    return `${this.stderr}\n${this.stdout}`.slice(-4000);
  }
  /** Log lines at or above a level, by name or pino number (40 warn, 50 error, 60 fatal). */
  logsAtLeast(level: LevelName | number): LogLine[] {
    const min = typeof level === 'number' ? level : pino.levels.values[level]!;
    return this.logs.filter((l) => (pino.levels.values[l.level] ?? 0) >= min);
  }
  /** Resident set size and its peak, in KiB, from /proc; zeros once the process is gone. */
  memory(): { rssKiB: number; hwmKiB: number } {
    try {
      const s = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const get = (k: string): number =>
        Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
      return { rssKiB: get('VmRSS'), hwmKiB: get('VmHWM') };
    } catch {
      return { rssKiB: 0, hwmKiB: 0 };
    }
  }
  /** Peak resident memory (VmHWM) in MiB so far; 0 once the process is gone. */
  peakRssMiB(): number {
    return Math.round(this.memory().hwmKiB / 1024);
  }
  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive()) return;
    this.child.kill(signal);
    await this.exited;
  }

  /**
   * SIGKILL (after SIGCONT, in case it is stopped) and wait for the exit; throws if the
   * process does not go away: a leaked broker would hold its port, data dir and CPU.
   */
  async stop(): Promise<void> {
    if (this.alive()) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
    }
    let timer: NodeJS.Timeout | undefined;
    const reaped = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), EXIT_GRACE_MS))),
    ]);
    clearTimeout(timer);
    if (!reaped || processExists(this.pid))
      throw new Error(`broker pid ${this.pid} still runs after SIGKILL: leaked`);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start a broker and wait for its ready line; throws with its output if it exits instead. */
export async function startBrokerProcess(
  t: TestContext,
  o: BrokerProcessOptions & { timeoutMs?: number } = {},
): Promise<BrokerProcess> {
  const b = new BrokerProcess(t, o);
  // A broker that neither gets ready nor exits is killed, which ends the wait below.
  const timer = setTimeout(() => void b.kill(), o.timeoutMs ?? 60_000);
  const port = await b.listening;
  clearTimeout(timer);
  if (port === undefined)
    throw new Error(`broker exited with ${await b.exited} before it was ready: ${b.output()}`);
  return b;
}
