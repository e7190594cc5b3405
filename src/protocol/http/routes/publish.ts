import type { FastifyInstance } from 'fastify';
import { REPLY_TO } from '../../../core/direct-reply.js';
import { PreconditionFailedError } from '../../../core/errors.js';
import { Message } from '../../../core/message.js';
import type { Session } from '../../../core/session.js';
import { bodyObject, onlyFields, requiredString, stringField } from '../body.js';
import type { HttpContext } from '../context.js';
import { propertiesFromJson } from '../message-json.js';
import { badRequest, HttpError } from '../problem.js';
import { exchangeParam, inVhost, requireExchange, requireVhost } from '../scope.js';

interface PublishParams {
  vhost: string;
  exchange: string;
}

/**
 * POST /api/exchanges/{vhost}/{exchange}/publish, as RabbitMQ's: one message, published
 * mandatory with publisher confirms on a session of its own, answered `{routed}` once it is
 * confirmed (a persistent message on a durable queue: after the store's fsync).
 */
export function publishRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.post<{ Params: PublishParams }>('/api/exchanges/:vhost/:exchange/publish', async (req) => {
    const { vhost } = req.params;
    const exchange = exchangeParam(req.params.exchange);
    requireExchange(requireVhost(ctx, vhost), exchange);
    const b = bodyObject(req.body);
    // rabbitmqadmin also sends vhost and exchange (the path's).
    onlyFields(
      b,
      ['routing_key', 'payload', 'payload_encoding', 'properties'],
      ['vhost', 'exchange', 'name'],
    );
    const routingKey = requiredString(b, 'routing_key');
    const payload = requiredString(b, 'payload');
    const encoding = stringField(b, 'payload_encoding', 'string');
    const body = decodePayload(payload, encoding);
    const props = propertiesFromJson(b.properties);
    return inVhost(ctx, req, vhost, (s) => {
      if (props.userId !== undefined && props.userId !== req.user.name)
        throw new PreconditionFailedError(
          `user_id property set to '${props.userId}' but authenticated user was '${req.user.name}'`,
        );
      // Direct reply-to needs a reply consumer on the publishing channel; this one has none.
      if (props.replyTo === REPLY_TO) props.replyTo = s.replyAddress();
      const message = new Message(
        exchange,
        routingKey,
        ctx.broker.properties.encode(props),
        body,
        props.deliveryMode === 2,
        props.priority ?? 0,
        props.expiration === undefined ? 0 : expiresAt(props.expiration),
      );
      return publishConfirmed(s, exchange, routingKey, message);
    });
  });
}

function decodePayload(payload: string, encoding: string): Buffer {
  if (encoding === 'string') return Buffer.from(payload, 'utf8');
  if (encoding === 'base64') {
    const digits = payload.replace(/[\s=]+$/, '').replace(/[\r\n]/g, '');
    // A lone trailing digit carries fewer than 8 bits: Node would drop it without a word.
    if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(payload) || digits.length % 4 === 1)
      throw badRequest("'payload' is not valid base64 (payload_encoding 'base64')");
    return Buffer.from(payload, 'base64');
  }
  throw badRequest(
    `unsupported payload_encoding ${JSON.stringify(encoding)}; use 'string' or 'base64'`,
  );
}

/** RabbitMQ's `expiration`: milliseconds as a decimal string. */
function expiresAt(expiration: string): number {
  if (!/^\d+$/.test(expiration))
    throw badRequest(
      `invalid expiration '${expiration}': it must be a whole number of milliseconds`,
    );
  return Date.now() + Number(expiration);
}

/** Publish with confirms on `s` and resolve with RabbitMQ's answer once it is confirmed. */
function publishConfirmed(
  s: Session,
  exchange: string,
  routingKey: string,
  message: Message,
): Promise<{ routed: boolean }> {
  return new Promise((resolve, reject) => {
    let routed = false;
    s.handler = {
      deliver: () => false,
      consumerCancelled: () => {},
      confirmed: () => resolve({ routed }),
      // A full queue (x-overflow reject-publish) nacks it: RabbitMQ's text and status.
      refused: () =>
        reject(new HttpError(400, 'rejected Unable to publish message. Check queue limits.')),
      confirmsFailed: (err) => reject(err),
    };
    s.enableConfirms();
    const r = s.publish(exchange, routingKey, message, true);
    // Not returned (mandatory): it reached a queue, a delayed exchange holds it, or it was a
    // duplicate of one that did (x-message-deduplication drops it without a return).
    routed = r.queues.length !== 0 || r.delays.length !== 0 || r.duplicate;
  });
}
