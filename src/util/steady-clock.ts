/** How often the clock takes a step, and the most one step may add. */
const TICK_MS = 250;
const MAX_STEP_MS = 1000;

let base = 0;
let last = performance.now();
let ticking: NodeJS.Timeout | undefined;

function step(p: number): number {
  const d = p - last;
  return d < 0 ? 0 : d > MAX_STEP_MS ? MAX_STEP_MS : d;
}

const tick = (): void => {
  const p = performance.now();
  base += step(p);
  last = p;
};

/**
 * Milliseconds for in-memory timeouts (consumer timeouts): they advance with real time, but
 * by at most a second between two of its ticks, so a jump of the system's clocks (a VM
 * resumed, a faked monotonic clock) does not time every unacked delivery out at once. Not
 * wall-clock time: compare only with itself.
 */
export function steadyNow(): number {
  if (ticking === undefined) {
    ticking = setInterval(tick, TICK_MS);
    ticking.unref();
  }
  return base + step(performance.now());
}
