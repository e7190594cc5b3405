import type { FastifyInstance } from 'fastify';
import type { Delivery } from '../../../core/delivery.js';
import type { Session } from '../../../core/session.js';
import { bodyObject, intField, onlyFields, stringField } from '../body.js';
import type { HttpContext } from '../context.js';
import { propertiesToJson } from '../message-json.js';
import { badRequest } from '../problem.js';
import { inVhost, requireQueue, requireVhost } from '../scope.js';
import { synced } from './queue-writes.js';

interface QueueParams {
  vhost: string;
  queue: string;
}

const ACK_MODES = [
  'ack_requeue_true',
  'ack_requeue_false',
  'reject_requeue_true',
  'reject_requeue_false',
] as const;
type AckMode = (typeof ACK_MODES)[number];

/** One got message as RabbitMQ's management API shows it. */
interface GotMessage {
  payload_bytes: number;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count: number;
  properties: Record<string, unknown>;
  payload: string;
  payload_encoding: 'string' | 'base64';
}

/**
 * POST /api/queues/{vhost}/{queue}/get, as RabbitMQ's: up to `count` basic.gets on a session
 * of its own, then per `ackmode` the messages are acked (removed: ack_requeue_false takes
 * them with no-ack), rejected (dead-lettered when the queue has a DLX) or left unacked, so
 * closing the session requeues them (redelivered from then on). Removals are answered once
 * the store has them.
 */
export function queueGetRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.post<{ Params: QueueParams }>('/api/queues/:vhost/:queue/get', async (req) => {
    const { vhost, queue } = req.params;
    requireQueue(requireVhost(ctx, vhost), queue);
    const b = bodyObject(req.body);
    onlyFields(b, ['count', 'ackmode', 'encoding', 'truncate'], ['vhost', 'queue', 'name']);
    const count = intField(b, 'count', 1);
    const ackmode = stringField(b, 'ackmode', 'ack_requeue_true');
    if (!(ACK_MODES as readonly string[]).includes(ackmode))
      throw badRequest(
        `unknown ackmode ${JSON.stringify(ackmode)}; known: ${ACK_MODES.join(', ')}`,
      );
    const encoding = stringField(b, 'encoding', 'auto');
    if (encoding !== 'auto' && encoding !== 'base64')
      throw badRequest('Unsupported encoding. Please use auto or base64.');
    const truncate =
      b.truncate === undefined || b.truncate === null ? undefined : intField(b, 'truncate', 0);
    const out = await inVhost(ctx, req, vhost, (s) =>
      getMany(ctx, s, queue, count, ackmode as AckMode, encoding, truncate),
    );
    if (ackmode !== 'ack_requeue_true') await synced(ctx);
    return out;
  });
}

async function getMany(
  ctx: HttpContext,
  s: Session,
  queue: string,
  count: number,
  ackmode: AckMode,
  encoding: 'auto' | 'base64',
  truncate: number | undefined,
): Promise<GotMessage[]> {
  const noAck = ackmode === 'ack_requeue_false';
  const out: GotMessage[] = [];
  const tags: number[] = [];
  for (let i = 0; i < count; i++) {
    const d = await s.getOrWait(queue, noAck);
    if (d === undefined) break;
    out.push(shape(ctx, d, s.queue(queue).messageCount, encoding, truncate));
    if (!noAck) tags.push(d.tag);
  }
  // Rejected after all the gets, as RabbitMQ: a requeued one would be got again.
  if (ackmode === 'reject_requeue_true' || ackmode === 'reject_requeue_false')
    for (const tag of tags) s.nack(tag, false, ackmode === 'reject_requeue_true');
  return out;
}

function shape(
  ctx: HttpContext,
  d: Delivery,
  messageCount: number,
  encoding: 'auto' | 'base64',
  truncate: number | undefined,
): GotMessage {
  const m = d.message;
  const body = m.body!;
  const shown =
    truncate !== undefined && body.length > truncate ? body.subarray(0, truncate) : body;
  const text = encoding === 'auto' ? utf8(shown) : undefined;
  return {
    payload_bytes: m.bodySize,
    redelivered: d.redelivered,
    exchange: m.exchange,
    routing_key: m.routingKey,
    message_count: messageCount,
    properties: propertiesToJson(ctx.broker.properties.decode(d.properties)),
    payload: text ?? shown.toString('base64'),
    payload_encoding: text === undefined ? 'base64' : 'string',
  };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(b: Buffer): string | undefined {
  try {
    return decoder.decode(b);
  } catch {
    return undefined;
  }
}
