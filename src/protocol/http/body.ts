import { badRequest } from './problem.js';

/** A request body read as a JSON object: absent or empty is `{}`, anything else is a 400. */
export type Fields = Record<string, unknown>;

export function bodyObject(body: unknown, what = 'request body'): Fields {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw badRequest(`${what} must be a JSON object`);
  return body as Fields;
}

/**
 * Refuse fields this endpoint does not know: a typo must not pass as a default. `ignored`
 * are fields clients send that carry nothing here (rabbitmqadmin repeats the path's
 * `name` and `vhost` in every body).
 */
export function onlyFields(
  o: Fields,
  known: readonly string[],
  ignored: readonly string[] = [],
  what = 'request body',
): void {
  const unknown = Object.keys(o).filter((k) => !known.includes(k) && !ignored.includes(k));
  if (unknown.length !== 0)
    throw badRequest(
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} in ${what}; known: ${known.join(', ')}`,
    );
}

/**
 * What a bad value is, for a 400: its JSON type, never the value itself (a misplaced or
 * mistyped password must not come back in the answer, or in a client's log of it).
 */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** A boolean field; RabbitMQ also takes the strings "true" and "false" (rabbitmqadmin sends those). */
export function boolField(o: Fields, key: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw badRequest(`field '${key}' must be true or false, got ${typeName(v)}`);
}

/** A whole-number field; numeric strings are taken too (rabbitmqadmin sends count as "1"). */
export function intField(o: Fields, key: string, dflt: number, min = 0): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min)
    throw badRequest(
      `field '${key}' must be a whole number${min > 0 ? ` of at least ${min}` : ' (0 or more)'}${typeof n === 'number' ? '' : `, got ${typeName(v)}`}`,
    );
  return n;
}

export function stringField(o: Fields, key: string, dflt: string): string;
export function stringField(o: Fields, key: string, dflt?: string): string | undefined;
export function stringField(o: Fields, key: string, dflt?: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string')
    throw badRequest(`field '${key}' must be a string, got ${typeName(v)}`);
  return v;
}

export function requiredString(o: Fields, key: string, what = 'request body'): string {
  const v = stringField(o, key);
  if (v === undefined) throw badRequest(`${what} needs field '${key}'`);
  return v;
}

/**
 * An arguments table (queue, exchange and binding arguments, message headers) from JSON:
 * strings, numbers, booleans, arrays and objects, as RabbitMQ's to_amqp_table; null has no
 * AMQP field type, so it is refused rather than dropped.
 */
export function tableField(o: Fields, key: string): Record<string, unknown> {
  const v = o[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw badRequest(`field '${key}' must be a JSON object, got ${typeName(v)}`);
  checkTable(v as Fields, key);
  return v as Record<string, unknown>;
}

function checkTable(t: Fields, path: string): void {
  for (const [k, v] of Object.entries(t)) checkValue(v, `${path}.${k}`);
}

function checkValue(v: unknown, path: string): void {
  if (v === null) throw badRequest(`'${path}' is null; AMQP tables have no null value`);
  if (Array.isArray(v)) v.forEach((x, i) => checkValue(x, `${path}[${i}]`));
  else if (typeof v === 'object') checkTable(v as Fields, path);
}
