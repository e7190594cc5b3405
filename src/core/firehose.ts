import { hostname } from 'node:os';
import type { ClientConnection } from './connection.js';
import { Message } from './message.js';
import type { MessageProperties } from './message-properties.js';
import type { Queue } from './queue.js';
import type { QueueEntry } from './queue-entry.js';
import { Routed } from './routing.js';
import type { Session } from './session.js';
import type { VirtualHost } from './vhost.js';

/** RabbitMQ's firehose exchange: a durable internal topic exchange in every vhost. */
export const TRACE_EXCHANGE = 'amq.rabbitmq.trace';

/** The `node` header: RabbitMQ names nodes name@host. */
const NODE = `baton@${hostname()}`;

/** RabbitMQ's names of the basic properties, as the firehose's `properties` table has them. */
const PROPERTY_NAMES: [keyof MessageProperties, string][] = [
  ['contentType', 'content_type'],
  ['contentEncoding', 'content_encoding'],
  ['headers', 'headers'],
  ['deliveryMode', 'delivery_mode'],
  ['priority', 'priority'],
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
];

/**
 * RabbitMQ's firehose: every client publish is copied to `amq.rabbitmq.trace` with routing
 * key `publish.<exchange>`, every delivery (consume or get) with `deliver.<queue>`. A copy has
 * the original body and only headers: exchange_name, routing_keys, properties (the original's,
 * a table), node, vhost, connection, channel, user, and routed_queues (publish) or redelivered
 * (deliver, 0 or 1). Copies are transient and are themselves never traced.
 */
export class Firehose {
  private readonly vhost: VirtualHost;

  constructor(vhost: VirtualHost) {
    this.vhost = vhost;
  }

  published(s: Session, r: Routed, queues: string[]): void {
    const m = r.message!;
    this.emit(`publish.${r.exchange}`, m, {
      ...this.about(r.exchange, r.routingKey, m),
      ...this.who(s),
      routed_queues: queues,
    });
  }

  delivered(s: Session, q: Queue, e: QueueEntry): void {
    const m = e.message;
    this.emit(`deliver.${q.name}`, m, {
      ...this.about(m.exchange, m.routingKey, m),
      redelivered: e.redelivered ? 1 : 0,
      ...this.who(s),
    });
  }

  private about(exchange: string, routingKey: string, m: Message): Record<string, unknown> {
    const props = this.vhost.broker.properties;
    const p = props.of(m);
    const table: Record<string, unknown> = {};
    for (const [k, name] of PROPERTY_NAMES) if (p[k] !== undefined) table[name] = p[k];
    return {
      exchange_name: exchange,
      routing_keys: [routingKey, ...(props.senderKeys(m)?.cc ?? [])],
      properties: table,
      node: NODE,
    };
  }

  private who(s: Session): Record<string, unknown> {
    return {
      vhost: this.vhost.name,
      connection: connectionName(s.connection),
      channel: s.number,
      user: s.connection.principal.user,
    };
  }

  private emit(routingKey: string, m: Message, headers: Record<string, unknown>): void {
    const vhost = this.vhost;
    if (m.body === undefined) return; // never the case: publishes and deliveries carry bodies
    const copy = new Message(
      TRACE_EXCHANGE,
      routingKey,
      vhost.broker.properties.encode({ headers }),
      m.body,
      false,
    );
    // A fresh result: a trace may be emitted while the session's own publish is being applied.
    const r = new Routed();
    vhost.route(TRACE_EXCHANGE, routingKey, copy, r, true);
    vhost.apply(r);
    if (r.failed !== undefined)
      vhost.broker.reportError(r.failed, `firehose copy '${routingKey}' not enqueued`);
  }
}

/** RabbitMQ's connection name: "peer:port -> host:port" (the protocol and id without a socket). */
export function connectionName(c: ClientConnection): string {
  const d = c.details;
  if (d !== undefined) return `${d.peerHost}:${d.peerPort} -> ${d.host}:${d.port}`;
  const p = c.principal;
  return `${p.protocol || 'internal'} connection ${c.id}${p.remoteAddress ? ` from ${p.remoteAddress}` : ''}`;
}
