import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for a broker process, applied by `baton serve` before anything is allocated.
 *
 * Scavenges run on V8's helper threads by default. A broker's survivors per scavenge are a few
 * KB, so the pause is fixed costs, and on a small or shared machine the main thread then waits
 * for those helpers to get a core: 1 ms pauses became 5–26 ms ones in the project's runs
 * (docs/performance.md, "The tail"). One thread does the same scavenge in about 0.6 ms.
 * A `--parallel-scavenge` or `--no-parallel-scavenge` given to node (command line or
 * NODE_OPTIONS) wins over this.
 */
export function gcFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((a) => /^--(no-)?parallel[-_]scavenge(=|$)/.test(a))) return [];
  return ['--no-parallel-scavenge'];
}

export function applyGcFlags(execArgv: readonly string[], nodeOptions: string | undefined): void {
  for (const f of gcFlags(execArgv, nodeOptions)) setFlagsFromString(f);
}
