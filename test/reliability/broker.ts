// `baton serve` as a child process for the fault tests. Like spawnBroker (test/helpers/server.ts)
// but it keeps every log line (pino JSON on stdout), can run the broker under a wrapper such as
// `fiu-run -x`, passes extra environment (BATON_TEST_*), and reports a refused start as a
// result (exit code and output) instead of a rejection, because several tests expect one.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface LogLine {
  level: number;
  msg?: string;
  [k: string]: unknown;
}

export interface LaunchOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Command and arguments put in front of `node main.js serve …` (e.g. ['fiu-run', '-x']). */
  wrapper?: string[];
  /** launch(): SIGKILL the broker if it is not listening after this long (default 60 s). */
  timeoutMs?: number;
}

export class BrokerProcess {
  readonly child: ChildProcess;
  readonly spawnedAt = Date.now();
  /** Parsed JSON log lines, in order. */
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** AMQP port once listening; undefined if it exited first. */
  readonly listening: Promise<number | undefined>;
  port = 0;
  listeningAt = 0;

  constructor(t: TestContext, dataDir: string, o: LaunchOptions = {}) {
    const argv = [
      cli,
      'serve',
      '--amqp-port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      ...(o.args ?? []),
    ];
    const [cmd, ...pre] = o.wrapper ?? [];
    this.child =
      cmd === undefined
        ? spawn(process.execPath, argv, {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, ...o.env },
          })
        : spawn(cmd, [...pre, process.execPath, ...argv], {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, ...o.env },
          });
    const child = this.child;
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    this.exited = once(child, 'exit').then(([code, signal]) =>
      code === null ? String(signal) : Number(code),
    );
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    let partial = '';
    this.listening = new Promise<number | undefined>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        this.stdout += d.toString();
        partial += d.toString();
        let nl;
        while ((nl = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, nl);
          partial = partial.slice(nl + 1);
          let parsed: LogLine | undefined;
          try {
            parsed = JSON.parse(line) as LogLine;
          } catch {
            continue;
          }
          this.logs.push(parsed);
          const m = /"protocol":"amqp".*?"port":(\d+)/.exec(line);
          if (m && this.port === 0) {
            this.port = Number(m[1]);
            this.listeningAt = Date.now();
            resolve(this.port);
          }
        }
      });
      void this.exited.then(() => resolve(undefined));
    });
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }
  get pid(): number {
    return this.child.pid!;
  }
  /** Milliseconds from spawn to the AMQP port being announced. */
  get startupMs(): number {
    return this.listeningAt - this.spawnedAt;
  }
  /** Everything the process printed, for assertion messages. */
  output(): string {
    return `${this.stderr}\n${this.stdout}`.slice(-4000);
  }
  /** Log lines at or above a pino level (40 warn, 50 error, 60 fatal). */
  logsAtLeast(level: number): LogLine[] {
    return this.logs.filter((l) => l.level >= level);
  }
  /** Peak resident memory (VmHWM) in MiB so far; 0 once the process is gone. */
  peakRssMiB(): number {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return Math.round(Number(m?.[1] ?? 0) / 1024);
    } catch {
      return 0;
    }
  }
  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive()) return;
    this.child.kill(signal);
    await this.exited;
  }
}

/** Start a broker and wait until it listens; throws with its output if it exits instead. */
export async function launch(
  t: TestContext,
  dataDir: string,
  o: LaunchOptions = {},
): Promise<BrokerProcess> {
  const b = new BrokerProcess(t, dataDir, o);
  const timer = setTimeout(() => void b.kill(), o.timeoutMs ?? 60000);
  const port = await b.listening;
  clearTimeout(timer);
  if (port === undefined)
    throw new Error(`broker exited with ${await b.exited} before listening: ${b.output()}`);
  return b;
}

/** Whether BATON_REQUIRE_ALL=1 (CI): a missing capability must fail, not skip. */
export const requireAll = process.env.BATON_REQUIRE_ALL === '1';

/**
 * Skip the test with "skipped: <reason>" when a capability is missing, or fail it under
 * BATON_REQUIRE_ALL=1. Returns true when the caller must return.
 */
export function missing(t: TestContext, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (requireAll) throw new Error(`required capability missing (BATON_REQUIRE_ALL=1): ${reason}`);
  t.diagnostic(`skipped: ${reason}`);
  t.skip(`skipped: ${reason}`);
  return true;
}

let helpText: string | undefined;
/** Whether `baton serve` knows `flag` (flags other helpers add may not have landed yet). */
export function supportsFlag(flag: string): boolean {
  helpText ??= execFileSync(process.execPath, [cli, 'help'], { encoding: 'utf8' });
  return helpText.includes(flag);
}
