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
 * durable exchanges but the built-in ones, bindings between durable ends), users, vhosts with
 * their metadata, permissions, and vhost limits as RabbitMQ writes them ('vhost-limits'
 * parameters). With `only`, one vhost's, without the `vhost` field on each item (RabbitMQ's
 * single-vhost format, which has no users). Password hashes only with `withHashes`: by
 * default the API shows no secret, so such an export re-creates users without a password.
 */
export function exportDefinitions(broker: Broker, only?: VirtualHost, withHashes = false): Item {
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
  const parameters = vhosts
    .filter((v) => Object.keys(v.limits).length !== 0)
    .map((v) => ({
      ...(only === undefined ? { vhost: v.name } : {}),
      component: 'vhost-limits',
      name: 'limits',
      value: { ...v.limits },
    }));
  if (only !== undefined) return { ...head, parameters, policies: [], queues, exchanges, bindings };
  return {
    ...head,
    users: broker.users.records().map((u) => ({
      name: u.name,
      ...(withHashes ? { password_hash: u.passwordHash } : {}),
      hashing_algorithm: u.hashingAlgorithm,
      tags: [...u.tags],
      limits: { ...u.limits },
    })),
    vhosts: vhosts.map((v) => ({
      name: v.name,
      description: v.description,
      tags: [...v.tags],
      metadata: { description: v.description, tags: [...v.tags] },
    })),
    permissions: broker.access.permissions
      .list()
      .filter((e) => broker.vhosts.has(e.vhost))
      .map((e) => ({
        user: e.user,
        vhost: e.vhost,
        configure: e.configure,
        write: e.write,
        read: e.read,
      })),
    topic_permissions: [],
    parameters,
    global_parameters: [],
    policies: [],
    queues,
    exchanges,
    bindings,
  };
}
