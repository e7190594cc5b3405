import { isDeepStrictEqual } from 'node:util';
import { PreconditionFailedError } from './errors.js';

/** What a redeclare is compared on: the flags, and the x- arguments (others are ignored). */
interface Declared {
  durable: boolean;
  autoDelete: boolean;
  exclusive?: boolean;
  arguments: Record<string, unknown>;
}

interface Wanted {
  durable?: boolean;
  autoDelete?: boolean;
  exclusive?: boolean;
  arguments?: Record<string, unknown>;
}

/**
 * A redeclare of an existing queue or exchange must match it, as in RabbitMQ: 406 with
 * RabbitMQ's text naming the first field that differs.
 */
export function checkEquivalent(
  kind: 'queue' | 'exchange',
  name: string,
  vhost: string,
  current: Declared,
  wanted: Wanted,
): void {
  const fields: ['durable' | 'autoDelete' | 'exclusive', string][] = [
    ['durable', 'durable'],
    ['autoDelete', 'auto_delete'],
  ];
  if (kind === 'queue') fields.push(['exclusive', 'exclusive']);
  for (const [field, wire] of fields) {
    const have = current[field] ?? false;
    const want = wanted[field] ?? false;
    if (have !== want) throw inequivalent(wire, kind, name, vhost, want, have);
  }
  const a = xArgs(current.arguments);
  const b = xArgs(wanted.arguments ?? {});
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!isDeepStrictEqual(a[key], b[key]))
      throw inequivalent(key, kind, name, vhost, b[key], a[key]);
  }
}

/** RabbitMQ's 406 for a redeclare that differs in `arg`. */
export function inequivalent(
  arg: string,
  kind: string,
  name: string,
  vhost: string,
  received: unknown,
  current: unknown,
): PreconditionFailedError {
  return new PreconditionFailedError(
    `inequivalent arg '${arg}' for ${kind} '${name}' in vhost '${vhost}': received '${show(received)}' but current is '${show(current)}'`,
  );
}

function xArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(args)) if (k.startsWith('x-')) out[k] = args[k];
  return out;
}

function show(v: unknown): string {
  if (v === undefined) return 'none';
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}
