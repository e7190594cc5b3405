import { plainHost } from '../../util/host-port.js';

/** How hard failed logins from one peer address are slowed down. */
export interface LoginThrottleSettings {
  /** Failed logins from one address before its attempts start to wait. */
  threshold: number;
  /** The first wait, doubled with every further failure. */
  baseDelayMs: number;
  /** The longest wait. */
  maxDelayMs: number;
  /** Quiet time (no failure from the address) after which its failures are forgotten. */
  quietMs: number;
  /** Attempts from one address waiting at once; more are refused at once. */
  maxPending: number;
  /** Addresses tracked at once; the one that failed longest ago is forgotten first. */
  maxAddresses: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleSettings = {
  threshold: 5,
  baseDelayMs: 250,
  maxDelayMs: 5000,
  quietMs: 60_000,
  maxPending: 10,
  maxAddresses: 10_000,
};

/** Counters since the broker started, for tests and operators. */
export interface LoginThrottleStats {
  /** Failed logins counted (refusals by the check and by the pending cap). */
  failures: number;
  /** Attempts that waited before their answer. */
  delayed: number;
  /** Their waits added up, in ms (what was asked of the clock, not measured). */
  delayedMs: number;
  /** Attempts refused at once because too many from their address were waiting. */
  refusedPending: number;
  /** Addresses tracked now. */
  addresses: number;
}

interface Peer {
  failures: number;
  lastFailure: number;
  pending: number;
  warned: boolean;
}

export interface LoginThrottleOptions {
  settings?: Partial<LoginThrottleSettings>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Failed-login throttling per peer address, for every protocol's login. After `threshold`
 * failures from an address, each further attempt from it, right or wrong, waits before it is
 * checked: baseDelayMs, doubling per failure up to maxDelayMs. A success does not clear the
 * count (one known account would otherwise let a guesser reset it); `quietMs` without a
 * failure does. Memory is bounded by maxAddresses and maxPending.
 */
export class LoginThrottle {
  private settings: LoginThrottleSettings;
  private readonly peers = new Map<string, Peer>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly counters = { failures: 0, delayed: 0, delayedMs: 0, refusedPending: 0 };
  /** An address started to be throttled (once per episode): server.ts logs it. */
  onThrottled: (address: string, failures: number, delayMs: number) => void = () => {};

  constructor(options: LoginThrottleOptions = {}) {
    this.settings = { ...DEFAULT_LOGIN_THROTTLE, ...options.settings };
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
  }

  /** Change the settings (embedding, tests); attempts already waiting keep their wait. */
  configure(settings: Partial<LoginThrottleSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  /** The longest wait an attempt gets. */
  get maxDelayMs(): number {
    return this.settings.maxDelayMs;
  }

  stats(): LoginThrottleStats {
    return { ...this.counters, addresses: this.peers.size };
  }

  /** The wait the next attempt from `address` gets; 0 when it is not throttled. */
  delayFor(address: string | undefined): number {
    const p = this.peer(address);
    return p === undefined ? 0 : this.delayOf(p);
  }

  /** True while attempts from `address` wait (its refusals are logged at debug meanwhile). */
  throttled(address: string | undefined): boolean {
    return this.delayFor(address) > 0;
  }

  /**
   * Runs `check` (one login) for `address`: at once when the address is not throttled (the
   * result, or its exception, comes back synchronously), else after the wait (a promise).
   * Whatever `check` throws counts as a failure. Over maxPending, `refusal()` is thrown at once.
   */
  attempt<T>(address: string | undefined, check: () => T, refusal: () => Error): T | Promise<T> {
    const key = keyOf(address);
    const p = this.peer(address);
    const delay = p === undefined ? 0 : this.delayOf(p);
    if (p === undefined || delay === 0) return this.run(key, check);
    if (p.pending >= this.settings.maxPending) {
      this.counters.refusedPending++;
      this.failed(key);
      throw refusal();
    }
    p.pending++;
    this.counters.delayed++;
    this.counters.delayedMs += delay;
    return this.sleep(delay).then(() => {
      p.pending--;
      return this.run(key, check);
    });
  }

  private run<T>(key: string, check: () => T): T {
    try {
      return check();
    } catch (err) {
      this.failed(key);
      throw err;
    }
  }

  private failed(key: string): void {
    this.counters.failures++;
    const now = this.now();
    let p = this.peers.get(key);
    if (p !== undefined && now - p.lastFailure >= this.settings.quietMs) p = undefined;
    p ??= { failures: 0, lastFailure: now, pending: 0, warned: false };
    // Re-inserted last: the map's order is least recently failed first.
    this.peers.delete(key);
    p.failures++;
    p.lastFailure = now;
    this.peers.set(key, p);
    while (this.peers.size > this.settings.maxAddresses) {
      const oldest = this.peers.keys().next().value as string;
      this.peers.delete(oldest);
    }
    const delay = this.delayOf(p);
    if (delay > 0 && !p.warned) {
      p.warned = true;
      this.onThrottled(key, p.failures, delay);
    }
  }

  /** The tracked record of `address`, forgotten once it has been quiet long enough. */
  private peer(address: string | undefined): Peer | undefined {
    const key = keyOf(address);
    const p = this.peers.get(key);
    if (p === undefined) return undefined;
    if (this.now() - p.lastFailure >= this.settings.quietMs && p.pending === 0) {
      this.peers.delete(key);
      return undefined;
    }
    return p;
  }

  private delayOf(p: Peer): number {
    const s = this.settings;
    if (p.failures < s.threshold || this.now() - p.lastFailure >= s.quietMs) return 0;
    const doublings = Math.min(p.failures - s.threshold, 30);
    return Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** doublings);
  }
}

function keyOf(address: string | undefined): string {
  return address === undefined ? '?' : plainHost(address);
}
