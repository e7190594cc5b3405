import { randomUUID } from 'node:crypto';
import type amqp from 'amqplib';
import { InvalidOptionError } from './errors.js';

export interface SendOptions {
  /** Default: a random UUID. Kept across resends, so deduplication recognises a resend. */
  messageId?: string;
  correlationId?: string;
  headers?: Record<string, unknown>;
  /** 0..255 (the queue needs x-max-priority). */
  priority?: number;
  /** Deliver no sooner than this many ms from now (through the `baton.delayed` exchange). */
  delayMs?: number;
  /** Per-message TTL in ms (AMQP expiration). */
  ttlMs?: number;
  /** Message group (header x-group-id): one message of a group in flight at a time. */
  groupId?: string;
  /** Written to disk before the confirm (default true). */
  persistent?: boolean;
  /** Overrides the codec's content-type (the body is still encoded by the codec). */
  contentType?: string;
  /**
   * Header that carries the message-id for queues with x-message-deduplication (default
   * 'x-deduplication-header', the broker's default); false: no such header.
   */
  deduplicationHeader?: string | false;
}

export interface RequestOptions {
  /** Reject with RequestTimeoutError after this long (default 5000); also the request's TTL. */
  timeoutMs?: number;
  headers?: Record<string, unknown>;
  messageId?: string;
  priority?: number;
  /** Default false: a request nobody waits for any more is not worth a disk write. */
  persistent?: boolean;
}

const SEND_KEYS = new Set([
  'messageId',
  'correlationId',
  'headers',
  'priority',
  'delayMs',
  'ttlMs',
  'groupId',
  'persistent',
  'contentType',
  'deduplicationHeader',
]);
const REQUEST_KEYS = new Set(['timeoutMs', 'headers', 'messageId', 'priority', 'persistent']);

function checkKeys(o: object, keys: Set<string>, what: string): void {
  for (const k of Object.keys(o))
    if (!keys.has(k)) throw new InvalidOptionError(`unknown ${what} option '${k}'`);
}

function nonNegativeInt(name: string, v: number | undefined, min = 0): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min))
    throw new InvalidOptionError(`${name} must be an integer >= ${min}, got ${v}`);
}

function checkPriority(v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 255))
    throw new InvalidOptionError(`priority must be an integer in 0..255, got ${v}`);
}

/** The AMQP publish properties of a send (validated; unknown options refused). */
export function sendProperties(
  o: SendOptions,
  contentType: string,
): amqp.Options.Publish & { messageId: string } {
  checkKeys(o, SEND_KEYS, 'send');
  checkPriority(o.priority);
  nonNegativeInt('delayMs', o.delayMs);
  nonNegativeInt('ttlMs', o.ttlMs);
  const messageId = o.messageId ?? randomUUID();
  if (typeof messageId !== 'string' || messageId === '')
    throw new InvalidOptionError('messageId must be a non-empty string');
  const dedup = o.deduplicationHeader ?? 'x-deduplication-header';
  if (dedup !== false && (typeof dedup !== 'string' || dedup === ''))
    throw new InvalidOptionError('deduplicationHeader must be a header name or false');
  const headers: Record<string, unknown> = { ...o.headers };
  if (dedup !== false && headers[dedup] === undefined) headers[dedup] = messageId;
  if (o.groupId !== undefined) headers['x-group-id'] = o.groupId;
  if (o.delayMs !== undefined && o.delayMs > 0) headers['x-delay'] = o.delayMs;
  const p: amqp.Options.Publish & { messageId: string } = {
    messageId,
    contentType: o.contentType ?? contentType,
    persistent: o.persistent ?? true,
    headers,
    timestamp: Math.floor(Date.now() / 1000),
  };
  if (o.correlationId !== undefined) p.correlationId = o.correlationId;
  if (o.priority !== undefined) p.priority = o.priority;
  if (o.ttlMs !== undefined) p.expiration = String(o.ttlMs);
  return p;
}

/** A request's publish properties and its timeout. */
export function requestProperties(
  o: RequestOptions,
  contentType: string,
): { options: amqp.Options.Publish & { messageId: string }; timeoutMs: number } {
  checkKeys(o, REQUEST_KEYS, 'request');
  checkPriority(o.priority);
  const timeoutMs = o.timeoutMs ?? 5000;
  nonNegativeInt('timeoutMs', timeoutMs, 1);
  const options: amqp.Options.Publish & { messageId: string } = {
    messageId: o.messageId ?? randomUUID(),
    contentType,
    persistent: o.persistent ?? false,
    headers: { ...o.headers },
    expiration: String(timeoutMs),
    timestamp: Math.floor(Date.now() / 1000),
  };
  if (o.priority !== undefined) options.priority = o.priority;
  return { options, timeoutMs };
}
