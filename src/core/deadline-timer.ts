/** setTimeout's longest delay; a later deadline is approached in steps. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * One timer for everything a queue must do at a wall-clock time (message expiry, retry delays,
 * consumer timeouts, queue expiry): it is armed for the earliest deadline anyone asked for, and
 * `fire(now)` finds what is due and asks again for the next one. Unref'd: never keeps the
 * process alive.
 */
export class DeadlineTimer {
  private at = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly fire: (now: number) => void;
  private readonly clock: () => number;

  /** `clock`: the time scale of deadlines (wall clock by default; steadyNow for timeouts). */
  constructor(fire: (now: number) => void, clock: () => number = Date.now) {
    this.fire = fire;
    this.clock = clock;
  }

  /** The deadline the timer is armed for (Infinity when idle). */
  get armedFor(): number {
    return this.at;
  }

  /** Be woken at `ms` (on the timer's clock), unless already due to wake earlier. */
  wakeAt(ms: number): void {
    if (ms >= this.at) return;
    this.at = ms;
    clearTimeout(this.timer);
    const delay = Math.min(MAX_DELAY, Math.max(0, ms - this.clock()));
    this.timer = setTimeout(this.run, delay);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Infinity;
  }

  private readonly run = (): void => {
    const at = this.at;
    this.timer = undefined;
    this.at = Infinity;
    const now = this.clock();
    // Woken early (a step of a very long delay, or the clock moved back): wait on.
    if (now < at) {
      this.wakeAt(at);
      return;
    }
    this.fire(now);
  };
}
