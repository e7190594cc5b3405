import { PreconditionFailedError } from './errors.js';

/** Where an x-argument was given, for RabbitMQ's error wording. */
export interface ArgumentOwner {
  kind: 'queue' | 'exchange';
  name: string;
  vhost: string;
}

/** RabbitMQ's 406 for a bad argument: `invalid arg 'x' for queue 'q' in vhost '/': why`. */
export function invalidArgument(
  name: string,
  where: ArgumentOwner,
  why: string,
): PreconditionFailedError {
  return new PreconditionFailedError(
    `invalid arg '${name}' for ${where.kind} '${where.name}' in vhost '${where.vhost}': ${why}`,
  );
}

/** A value as an error message shows it. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? typeof v;
}

/**
 * An integer argument within [min, max], undefined when absent. Some clients send whole
 * numbers as doubles or strings of digits: RabbitMQ takes neither, so only `digits` (the
 * deduplication plugin's arguments, which pika users send as '100') accepts digit strings.
 */
export function integerArgument(
  args: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  where: ArgumentOwner,
  digits = false,
): number | undefined {
  let v = args[name];
  if (v === undefined) return undefined;
  if (digits && Buffer.isBuffer(v)) v = v.toString();
  if (digits && typeof v === 'string' && /^\d{1,15}$/.test(v)) v = Number(v);
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw invalidArgument(name, where, `must be an integer, got ${describeValue(v)}`);
  if (v < min) throw invalidArgument(name, where, `must be at least ${min}, got ${v}`);
  if (v > max) throw invalidArgument(name, where, `must be at most ${max}, got ${v}`);
  return v;
}
