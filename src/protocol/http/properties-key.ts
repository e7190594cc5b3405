import { createHash } from 'node:crypto';

/**
 * A binding's `properties_key`, the last path segment of /api/bindings/{vhost}/e/{x}/q/{q}/{key}
 * and what GET /api/bindings lists, by RabbitMQ's rule: "~" for an empty routing key without
 * arguments, the routing key (quoted, `~` as %7E) without arguments, else the key, "~" and a
 * short hash of the arguments. RabbitMQ hashes its Erlang term (phash2), which no other
 * program can reproduce, so Baton hashes canonical JSON instead: clients read the key from a
 * listing or a Location header, never compute it.
 */
export function propertiesKey(routingKey: string, args: Readonly<Record<string, unknown>>): string {
  const hasArgs = Object.keys(args).length !== 0;
  if (!hasArgs) return routingKey === '' ? '~' : quoteBinding(routingKey);
  return `${quoteBinding(routingKey)}~${quoteBinding(argsHash(args))}`;
}

/** Four bytes of SHA-256 over the arguments with sorted keys, base64url (six characters). */
function argsHash(args: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(canonical(args)).digest().subarray(0, 4).toString('base64url');
}

function canonical(v: unknown): string {
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('base64'));
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Python's quote_plus (RabbitMQ's rabbit_http_util), with `~` quoted so it only separates. */
function quoteBinding(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/~/g, '%7E');
}
