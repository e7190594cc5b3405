import { readFileSync } from 'node:fs';
import type { Broker } from '../../core/broker.js';
import type { VirtualHost } from '../../core/vhost.js';
import { fieldToJson } from './message-json.js';

/** The RabbitMQ release whose definitions format Baton writes (and whose API it answers like). */
export const DEFINITIONS_RABBIT_VERSION = '3.13.7';

const PRODUCT_VERSION = (
  JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

type Item = Record<string, unknown>;

/**
 * RabbitMQ's definitions export: what a restart keeps (durable queues that are not exclusive,
 * durable exchanges but the built-in ones, bindings between durable ends). With `only`, one
 * vhost's, without the `vhost` field on each item (RabbitMQ's single-vhost format). Users are
 * written without password hashes: the API shows no secret.
 */
export function exportDefinitions(broker: Broker, only?: VirtualHost): Item {
  const vhosts = only === undefined ? [...broker.vhosts.values()] : [only];
  const queues: Item[] = [];
  const exchanges: Item[] = [];
  const bindings: Item[] = [];
  for (const v of vhosts) {
    const at = only === undefined ? { vhost: v.name } : {};
    for (const q of v.queues.values()) {
      if (!q.durable || q.exclusive) continue;
      queues.push({
        name: q.name,
        ...at,
        durable: true,
        auto_delete: q.autoDelete,
        arguments: fieldToJson(q.arguments),
      });
    }
    for (const ex of v.exchanges.values()) {
      if (ex.durable && ex.name !== '' && !ex.name.startsWith('amq.'))
        exchanges.push({
          name: ex.name,
          ...at,
          type: ex.declaredType,
          durable: true,
          auto_delete: ex.autoDelete,
          internal: ex.internal,
          arguments: fieldToJson(ex.arguments),
        });
      for (const b of ex.bindings) {
        const d = b.destination;
        const toExchange = 'bindings' in d;
        if (!ex.durable || !d.durable || (!toExchange && d.exclusive)) continue;
        bindings.push({
          source: ex.name,
          ...at,
          destination: d.name,
          destination_type: toExchange ? 'exchange' : 'queue',
          routing_key: b.routingKey,
          arguments: fieldToJson(b.arguments),
        });
      }
    }
  }
  const head = {
    rabbit_version: DEFINITIONS_RABBIT_VERSION,
    rabbitmq_version: DEFINITIONS_RABBIT_VERSION,
    product_name: 'Baton',
    product_version: PRODUCT_VERSION,
  };
  if (only !== undefined)
    return { ...head, parameters: [], policies: [], queues, exchanges, bindings };
  return {
    ...head,
    users: broker.users.list().map((u) => ({ name: u.name, tags: [...u.tags], limits: {} })),
    vhosts: vhosts.map((v) => ({ name: v.name })),
    permissions: broker.users.list().flatMap((u) =>
      vhosts.map((v) => ({
        user: u.name,
        vhost: v.name,
        configure: '.*',
        write: '.*',
        read: '.*',
      })),
    ),
    topic_permissions: [],
    parameters: [],
    global_parameters: [],
    policies: [],
    queues,
    exchanges,
    bindings,
  };
}
