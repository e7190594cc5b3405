import { UsageError } from './errors.js';

/**
 * `key=value` pairs from repeated options. `typed` turns '10' into 10 and 'true' into true (what
 * queue arguments such as x-max-length need); `key:=JSON` always gives the JSON value.
 */
export function keyValues(
  option: string,
  raw: readonly string[] = [],
  typed: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of raw) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`${option}: '${kv}' is not key=value`);
    if (kv[eq - 1] === ':' && eq > 1) {
      const key = kv.slice(0, eq - 1);
      try {
        out[key] = JSON.parse(kv.slice(eq + 1));
      } catch {
        throw new UsageError(`${option}: the value of '${key}:=' is not JSON`);
      }
      continue;
    }
    const value = kv.slice(eq + 1);
    out[kv.slice(0, eq)] = typed ? guess(value) : value;
  }
  return out;
}

function guess(v: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (v === 'true') return true;
  if (v === 'false') return false;
  return v;
}
