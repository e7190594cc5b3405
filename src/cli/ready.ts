import { closeSync, writeSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ConfigError } from '../core/errors.js';

/** What `baton serve --ready-fd N` writes to fd N, as one JSON line, once every listener is up. */
export interface ReadyInfo {
  pid: number;
  /** Bound port per protocol (the real one when 0 was asked for). */
  ports: Record<string, number>;
  /** The control socket's path, when there is one. */
  controlSocket?: string;
}

export const READY_FD_HELP = `  ${'--ready-fd'.padEnd(25)} ${'BATON_READY_FD'.padEnd(29)} ${'-'.padEnd(10)} Once listening, write {"pid","ports":{"amqp"},"controlSocket"} as one JSON line to this inherited fd and close it`;

/**
 * Takes `--ready-fd N` (or `--ready-fd=N`, or BATON_READY_FD) out of the serve arguments: it
 * is the CLI's, not the broker's configuration.
 */
export function takeReadyFd(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { fd: number | undefined; rest: string[] } {
  const rest: string[] = [];
  let raw = env.BATON_READY_FD === '' ? undefined : env.BATON_READY_FD;
  let source = 'environment variable BATON_READY_FD';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--ready-fd') {
      raw = argv[++i];
      source = 'flag --ready-fd';
      if (raw === undefined) throw new ConfigError('option --ready-fd needs a value');
    } else if (a.startsWith('--ready-fd=')) {
      raw = a.slice('--ready-fd='.length);
      source = 'flag --ready-fd';
    } else rest.push(a);
  }
  if (raw === undefined) return { fd: undefined, rest };
  // 0-2 are stdin/stdout/stderr: closing them would take the logs with them.
  if (!/^\d+$/.test(raw) || Number(raw) < 3)
    throw new ConfigError(`${source}: '${raw}' is not a file descriptor number of 3 or more`);
  return { fd: Number(raw), rest };
}

/**
 * Writes the ready line to `fd` and closes it (throws if `fd` is not open for writing). A
 * failed write leaves `fd` open: it may not be ours (npm passes no fd past 2, so fd 3 can be
 * one of Node's own, and closing that aborts the process).
 */
export function announceReady(fd: number, info: ReadyInfo): void {
  writeSync(fd, `${JSON.stringify(info)}\n`);
  closeSync(fd);
}

/**
 * For supervisors (tests, bench): resolves with the ready line a child started with
 * `--ready-fd N` and `stdio[N] = 'pipe'` writes, or with undefined if it exits first.
 */
export function waitReady(child: ChildProcess, fd = 3): Promise<ReadyInfo | undefined> {
  const stream = child.stdio[fd] as Readable | null | undefined;
  if (stream === null || stream === undefined)
    return Promise.reject(new Error(`the child's stdio[${fd}] is not a pipe`));
  return new Promise((resolve) => {
    let buf = '';
    stream.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as ReadyInfo);
    });
    stream.on('error', () => {});
    // Closed without a line: the broker exited (or closed the fd) before it was ready.
    stream.on('close', () => resolve(undefined));
  });
}
