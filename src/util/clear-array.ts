/** Past this length a cleared array gives its storage back instead of keeping it for reuse. */
const KEEP = 64;

/**
 * Empty a reused scratch array and keep its storage. `a.length = 0` makes V8 drop the backing
 * store, so the next push allocates a fresh one (about 150 bytes): on a per-message path that
 * is garbage for every message. Popping keeps the capacity; a long array (a rare wide fanout)
 * is truncated instead, so it does not keep its size for good.
 */
export function clearArray(a: unknown[]): void {
  if (a.length > KEEP) a.length = 0;
  else while (a.length !== 0) a.pop();
}
