import { createHash } from 'node:crypto';
import type { Binding } from '../../../core/exchange.js';
import { Queue } from '../../../core/queue.js';
import type { VirtualHost } from '../../../core/vhost.js';
import { jsonTable, jsonValue } from '../json-value.js';
import type { Item } from '../listing.js';

/**
 * RabbitMQ's `properties_key`, which names one binding among those with the same ends (the
 * last path segment of DELETE /api/bindings/…): the routing key URL-quoted, "~" for an empty
 * key, and with arguments `key~hash`, the hash a short digest of the arguments. RabbitMQ
 * hashes its own term encoding; clients only echo the key back, so Baton's digest differs.
 */
export function propertiesKey(routingKey: string, args: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(args);
  if (keys.length === 0) return routingKey === '' ? '~' : quote(routingKey);
  return `${quote(routingKey)}~${quote(argsHash(args))}`;
}

function quote(s: string): string {
  return encodeURIComponent(s).replace(/~/g, '%7E');
}

function argsHash(args: Readonly<Record<string, unknown>>): string {
  const canonical = JSON.stringify(
    Object.keys(args)
      .sort()
      .map((k) => [k, jsonValue(args[k])]),
  );
  return createHash('sha256').update(canonical).digest().subarray(0, 4).toString('base64url');
}

export function bindingView(vhost: string, b: Binding): Item {
  const toQueue = b.destination instanceof Queue;
  return {
    source: b.source.name,
    vhost,
    destination: b.destination.name,
    destination_type: toQueue ? 'queue' : 'exchange',
    routing_key: b.routingKey,
    arguments: jsonTable(b.arguments),
    properties_key: propertiesKey(b.routingKey, b.arguments),
  };
}

/** The default exchange's implicit binding of a queue, as RabbitMQ lists it. */
export function defaultBindingView(vhost: string, queue: string): Item {
  return {
    source: '',
    vhost,
    destination: queue,
    destination_type: 'queue',
    routing_key: queue,
    arguments: {},
    properties_key: propertiesKey(queue, {}),
  };
}

/** RabbitMQ lists bindings in its route table's order: by source, routing key, destination. */
export const BINDING_ORDER = ['vhost', 'source', 'routing_key', 'destination_type', 'destination'];

/** Every binding of a vhost: the default exchange's implicit ones first, as RabbitMQ. */
export function vhostBindings(v: VirtualHost): Item[] {
  const out: Item[] = [];
  for (const q of v.queues.values()) out.push(defaultBindingView(v.name, q.name));
  for (const x of v.exchanges.values())
    for (const b of x.bindings) out.push(bindingView(v.name, b));
  return out;
}
