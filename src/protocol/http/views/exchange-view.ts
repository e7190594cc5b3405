import type { Exchange } from '../../../core/exchange.js';
import { jsonTable } from '../json-value.js';
import type { Item } from '../listing.js';

/**
 * One exchange as RabbitMQ's GET /api/exchanges shows it. Baton keeps no per-exchange
 * counters, so there is no message_stats (RabbitMQ also omits it for an exchange with none).
 */
export function exchangeView(vhost: string, x: Exchange): Item {
  return {
    name: x.name,
    vhost,
    type: x.declaredType,
    durable: x.durable,
    auto_delete: x.autoDelete,
    internal: x.internal,
    arguments: jsonTable(x.arguments),
    // Who declared an exchange is not kept; the built-in ones are the broker's own.
    ...(x.name === '' || x.name.startsWith('amq.')
      ? { user_who_performed_action: 'rmq-internal' }
      : {}),
  };
}
