/**
 * JSON for definition values that round-trips Buffer, bigint and Date. Tagged values are
 * objects with a `$t` key: {"$t":"buf","v":base64}, {"$t":"big","v":"123"},
 * {"$t":"date","v":iso}; a plain object that itself has a `$t` key is wrapped as
 * {"$t":"obj","v":{...}} so decoding never mistakes it for a tag.
 */
export function encodeTagged(value: unknown): string {
  return JSON.stringify(toTagged(value));
}

export function decodeTagged(text: string): unknown {
  return fromTagged(JSON.parse(text));
}

function toTagged(v: unknown): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'bigint') return { $t: 'big', v: v.toString() };
    return v;
  }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    return { $t: 'buf', v: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  }
  if (v instanceof Date) return { $t: 'date', v: v.toISOString() };
  if (Array.isArray(v)) return v.map(toTagged);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x !== undefined) setOwn(out, k, toTagged(x));
  }
  return Object.hasOwn(out, '$t') ? { $t: 'obj', v: out } : out;
}

function fromTagged(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromTagged);
  const o = v as Record<string, unknown>;
  if (Object.hasOwn(o, '$t')) {
    const x = o['v'];
    switch (o['$t']) {
      case 'buf':
        return Buffer.from(x as string, 'base64');
      case 'big':
        return BigInt(x as string);
      case 'date':
        return new Date(x as string);
      case 'obj':
        return plain(x as Record<string, unknown>);
      default:
        throw new Error(`unknown tag '${String(o['$t'])}' in a journaled definition`);
    }
  }
  return plain(o);
}

/** Rebuild an object key by key (never through a prototype setter: `__proto__` stays data). */
function plain(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) setOwn(out, k, fromTagged(o[k]));
  return out;
}

function setOwn(o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
}
