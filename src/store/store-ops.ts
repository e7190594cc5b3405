import type { StoreOp } from './store.js';

/**
 * Throw on the first op no store could apply, before a commit applies anything (so a bad op
 * never leaves half a commit behind).
 */
export function checkOps(ops: readonly StoreOp[]): void {
  for (const o of ops) {
    if (o.op === 'enqueue') {
      const n = o.queueIds.length;
      if (n !== o.seqs.length || n === 0 || n > 0xffff)
        throw new RangeError(`enqueue needs 1 to 65535 queue ids with one seq each, got ${n}`);
      if (o.message.body === undefined) throw new TypeError('enqueue needs the message body');
    } else if (o.op !== 'settle' && o.op !== 'purge' && o.op !== 'markDelivered') {
      throw new TypeError(`unknown store op '${(o as { op: unknown }).op as string}'`);
    }
  }
}
