import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for a broker process, applied by `baton serve` at start, before the broker is.
 *
 * Scavenges run on V8's helper threads by default. A broker's survivors per scavenge are a few
 * KB, so the pause is fixed costs, and on a small or shared machine the main thread then waits
 * for those helpers to get a core: 1 ms pauses became 5–26 ms ones in the project's runs
 * (docs/performance.md, "The tail"). One thread does the same scavenge in about 0.6 ms, and
 * spends less CPU on it. A `--parallel-scavenge` or `--no-parallel-scavenge` given on node's
 * command line wins (node refuses V8 flags like these in NODE_OPTIONS).
 */
export function gcFlags(execArgv: readonly string[]): string[] {
  if (execArgv.some((a) => /^--(no-)?parallel[-_]scavenge(=|$)/.test(a))) return [];
  return ['--no-parallel-scavenge'];
}

export function applyGcFlags(execArgv: readonly string[]): void {
  for (const f of gcFlags(execArgv)) setFlagsFromString(f);
}
