/** Where a progress bar may draw: a terminal's stderr, never a pipe or a file. */
export interface ProgressTarget {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** "label [#####.....]  40% 400/1000 messages", fitted to `width`. */
export function renderProgress(
  label: string,
  done: number,
  total: number,
  unit: string,
  width: number,
): string {
  const shown = Math.min(Math.max(done, 0), total);
  const pct = total > 0 ? Math.floor((shown / total) * 100) : 100;
  const tail = ` ${String(pct).padStart(3)}% ${shown}/${total} ${unit}`;
  const room = Math.max(10, Math.min(40, width - label.length - tail.length - 3));
  const filled = total > 0 ? Math.round((shown / total) * room) : room;
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(room - filled)}]${tail}`;
}

/**
 * A one-line bar redrawn in place on stderr. Without a TTY (or with --json) every call is a
 * no-op, so scripts and logs never see carriage returns.
 */
export class ProgressBar {
  readonly #target: ProgressTarget | undefined;
  readonly #label: string;
  readonly #unit: string;
  #total: number;
  #drawn = false;

  constructor(target: ProgressTarget | undefined, label: string, total: number, unit: string) {
    this.#target = target?.isTTY === true ? target : undefined;
    this.#label = label;
    this.#total = total;
    this.#unit = unit;
  }

  /** False when nothing is drawn (no terminal): callers then skip sampling too. */
  get active(): boolean {
    return this.#target !== undefined;
  }

  update(done: number, total = this.#total): void {
    if (this.#target === undefined) return;
    this.#total = total;
    const width = this.#target.columns || 80; // a pty may report 0
    this.#target.write(
      `\r${renderProgress(this.#label, done, this.#total, this.#unit, width)}\x1b[K`,
    );
    this.#drawn = true;
  }

  /** Clears the bar, leaving the line for the command's result. */
  finish(): void {
    if (this.#target !== undefined && this.#drawn) this.#target.write('\r\x1b[K');
    this.#drawn = false;
  }
}

/**
 * Runs `work` and, while it runs, polls `sample` (e.g. a queue's depth) to draw progress
 * towards `total`. Polling stops with the work; a failed sample only skips that frame.
 */
export async function withProgress<T>(
  bar: ProgressBar,
  work: Promise<T>,
  sample: () => Promise<number | undefined>,
  everyMs = 200,
): Promise<T> {
  if (!bar.active) return work;
  let running = true;
  const poll = async (): Promise<void> => {
    while (running) {
      await new Promise((r) => setTimeout(r, everyMs));
      if (!running) break;
      const done = await sample().catch(() => undefined);
      if (running && done !== undefined) bar.update(done);
    }
  };
  bar.update(0);
  const polling = poll();
  try {
    return await work;
  } finally {
    running = false;
    await polling;
    bar.finish();
  }
}
