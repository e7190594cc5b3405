import { InvalidOptionError } from '../errors.js';

export interface ReconnectOptions {
  /** First delay's upper bound, ms (default 100). */
  initialDelayMs?: number;
  /** Cap on any delay, ms (default 10,000). */
  maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Attempts before giving up (default Infinity); 0 turns reconnecting off. */
  maxAttempts?: number;
}

export interface Backoff {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  maxAttempts: number;
}

const KEYS = new Set(['initialDelayMs', 'maxDelayMs', 'factor', 'maxAttempts']);

export function backoffPolicy(o: ReconnectOptions = {}): Backoff {
  for (const k of Object.keys(o))
    if (!KEYS.has(k)) throw new InvalidOptionError(`unknown reconnect option '${k}'`);
  const p: Backoff = {
    initialDelayMs: o.initialDelayMs ?? 100,
    maxDelayMs: o.maxDelayMs ?? 10_000,
    factor: o.factor ?? 2,
    maxAttempts: o.maxAttempts ?? Infinity,
  };
  if (!(p.initialDelayMs >= 0) || !(p.maxDelayMs >= p.initialDelayMs))
    throw new InvalidOptionError('reconnect: need 0 <= initialDelayMs <= maxDelayMs');
  if (!(p.factor >= 1)) throw new InvalidOptionError('reconnect.factor must be >= 1');
  if (!(p.maxAttempts >= 0)) throw new InvalidOptionError('reconnect.maxAttempts must be >= 0');
  return p;
}

/**
 * "Full jitter": a uniform random delay below the capped exponential bound, so clients that
 * lost the same broker do not all come back in the same instant. attempt counts from 1.
 */
export function backoffDelay(p: Backoff, attempt: number, random = Math.random): number {
  const bound = Math.min(p.maxDelayMs, p.initialDelayMs * p.factor ** Math.max(0, attempt - 1));
  return Math.floor(random() * bound);
}
