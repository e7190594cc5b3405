import { PreconditionFailedError } from '../errors.js';

/** RabbitMQ's vhost limits; absent means unlimited. */
export interface VhostLimits {
  readonly 'max-connections'?: number;
  readonly 'max-queues'?: number;
}

export const VHOST_LIMITS = ['max-connections', 'max-queues'] as const;
export const USER_LIMITS = ['max-connections', 'max-channels'] as const;

/**
 * Validates a limits object as RabbitMQ's set_vhost_limits / set_user_limits take it: known
 * names only, integers; a negative value means "no limit" (so it is dropped), 0 allows none.
 * Unknown names are refused, never ignored.
 */
export function parseLimits<K extends string>(
  value: unknown,
  known: readonly K[],
  what: string,
): Partial<Record<K, number>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new PreconditionFailedError(`${what} limits must be a JSON object`);
  const out: Partial<Record<K, number>> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (!(known as readonly string[]).includes(name))
      throw new PreconditionFailedError(
        `unknown ${what} limit '${name}'; known limits: ${known.join(', ')}`,
      );
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
      // The type, never the value: a 400 does not repeat what it was sent.
      const type = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
      throw new PreconditionFailedError(
        `${what} limit '${name}' must be an integer${typeof n === 'number' ? '' : `, got ${type}`}`,
      );
    }
    if (n >= 0) out[name as K] = n;
  }
  return out;
}

/** Is one more allowed, with `count` in use under `limit` (undefined: no limit)? */
export function underLimit(limit: number | undefined, count: number): boolean {
  return limit === undefined || count < limit;
}
