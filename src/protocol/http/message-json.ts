import type { MessageProperties } from '../../core/properties.js';
import { bodyObject, typeName, type Fields } from './body.js';
import { badRequest } from './problem.js';

/** RabbitMQ's JSON names of the basic properties and Baton's, in RabbitMQ's order. */
const NAMES = [
  ['content_type', 'contentType'],
  ['content_encoding', 'contentEncoding'],
  ['headers', 'headers'],
  ['delivery_mode', 'deliveryMode'],
  ['priority', 'priority'],
  ['correlation_id', 'correlationId'],
  ['reply_to', 'replyTo'],
  ['expiration', 'expiration'],
  ['message_id', 'messageId'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['user_id', 'userId'],
  ['app_id', 'appId'],
] as const satisfies readonly (readonly [string, keyof MessageProperties])[];

const INTEGER: Partial<Record<string, [number, number]>> = {
  delivery_mode: [1, 2],
  priority: [0, 255],
  timestamp: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * Message properties from a publish body's `properties` (RabbitMQ's to_basic_properties):
 * delivery_mode, priority and timestamp are whole numbers, headers a table, the rest strings.
 * An unknown name is refused, not dropped: a misspelt `delivery_mode` would silently make a
 * transient message.
 */
export function propertiesFromJson(value: unknown): MessageProperties {
  const o = bodyObject(value, "'properties'");
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    const name = NAMES.find(([wire]) => wire === key)?.[1];
    if (name === undefined)
      throw badRequest(
        key === 'cluster_id'
          ? "property 'cluster_id' is deprecated in AMQP 0-9-1 and Baton does not carry it"
          : `unknown property '${key}'; known: ${NAMES.map(([w]) => w).join(', ')}`,
      );
    const v = o[key];
    if (v === undefined || v === null) continue;
    const range = INTEGER[key];
    if (range !== undefined) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1])
        throw badRequest(
          `property '${key}' must be a whole number from ${range[0]} to ${range[1]}${typeof v === 'number' ? '' : `, got ${typeName(v)}`}`,
        );
    } else if (key === 'headers') {
      if (typeof v !== 'object' || Array.isArray(v))
        throw badRequest(`property 'headers' must be a JSON object, got ${typeName(v)}`);
      checkHeaders(v as Fields, 'headers');
    } else if (typeof v !== 'string')
      throw badRequest(`property '${key}' must be a string, got ${typeName(v)}`);
    out[name] = v;
  }
  return out;
}

function checkHeaders(t: Fields, path: string): void {
  for (const [k, v] of Object.entries(t)) {
    const p = `${path}.${k}`;
    if (v === null) throw badRequest(`'${p}' is null; AMQP tables have no null value`);
    if (Array.isArray(v))
      v.forEach(
        (x, i) => x !== null && typeof x === 'object' && checkHeaders(x as Fields, `${p}[${i}]`),
      );
    else if (typeof v === 'object') checkHeaders(v as Fields, p);
  }
}

/** Message properties as RabbitMQ's JSON: only those set, header values made JSON. */
export function propertiesToJson(p: Readonly<MessageProperties>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [wire, name] of NAMES) {
    const v = p[name];
    if (v !== undefined) out[wire] = name === 'headers' ? fieldToJson(v) : v;
  }
  return out;
}

/**
 * A decoded AMQP field value as JSON, as RabbitMQ's management API shows it: byte strings as
 * text, 64-bit integers as numbers, timestamps as seconds, decimals as numbers.
 */
export function fieldToJson(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (Array.isArray(v)) return v.map(fieldToJson);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // The field-table decoder's typed values: { '!': type, value }.
    if (typeof o['!'] === 'string' && 'value' in o && Object.keys(o).length === 2) {
      const inner = o.value;
      if (o['!'] === 'decimal' && inner !== null && typeof inner === 'object') {
        const d = inner as { places?: number; digits?: number };
        return (d.digits ?? 0) / 10 ** (d.places ?? 0);
      }
      return fieldToJson(inner);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = fieldToJson(x);
    return out;
  }
  return v;
}
