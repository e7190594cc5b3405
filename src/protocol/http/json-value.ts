/**
 * A protocol value (AMQP field-table contents: Buffers, bigints, Dates) as JSON, the way
 * RabbitMQ's management API shows it: byte strings as text, timestamps as seconds.
 */
export function jsonValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonValue(x);
    return out;
  }
  return v;
}

/** A table of arguments or properties as a JSON object. */
export function jsonTable(t: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return jsonValue(t) as Record<string, unknown>;
}
