import type { ConsumeMessage, MessageProperties } from 'amqplib';
import type { Codec } from './codec.js';

/** A delivered message, its body decoded by the codec according to its content-type. */
export interface Message<T = unknown> {
  body: T;
  /** The bytes as they came. */
  raw: Buffer;
  messageId: string | undefined;
  correlationId: string | undefined;
  headers: Record<string, unknown>;
  redelivered: boolean;
  /**
   * Earlier deliveries of this message that came back (x-delivery-count when the queue
   * reports it; otherwise 1 for a redelivery, 0 for a first delivery).
   */
  deliveryCount: number;
  contentType: string | undefined;
  replyTo: string | undefined;
  queue: string;
  properties: MessageProperties;
}

function countOf(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'bigint' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Decodes `m`; throws what the codec throws (the consumer treats that as a failed handling). */
export function toMessage<T>(m: ConsumeMessage, queue: string, codec: Codec): Message<T> {
  const p = m.properties;
  const headers = (p.headers ?? {}) as Record<string, unknown>;
  const contentType = typeof p.contentType === 'string' ? p.contentType : undefined;
  return {
    body: codec.decode(m.content, contentType) as T,
    raw: m.content,
    messageId: p.messageId === undefined ? undefined : String(p.messageId),
    correlationId: p.correlationId === undefined ? undefined : String(p.correlationId),
    headers,
    redelivered: m.fields.redelivered,
    deliveryCount: countOf(headers['x-delivery-count']) ?? (m.fields.redelivered ? 1 : 0),
    contentType,
    replyTo: p.replyTo === undefined ? undefined : String(p.replyTo),
    queue,
    properties: p,
  };
}

/** What basic.return carries (amqplib's Message type does not declare it). */
export function returnInfo(m: { fields: object }): { code: number; text: string; routingKey: string } {
  const f = m.fields as { replyCode?: number; replyText?: string; routingKey?: string };
  return { code: f.replyCode ?? 312, text: f.replyText ?? 'NO_ROUTE', routingKey: f.routingKey ?? '' };
}
