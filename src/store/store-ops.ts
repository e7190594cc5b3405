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
    } else if (o.op === 'failures') {
      checkFailures(o.queueId, o.seq, o.failures);
    } else if (o.op === 'dedup') {
      checkDedup(o.scope, o.id, o.expiresAt);
    } else if (o.op !== 'settle' && o.op !== 'purge' && o.op !== 'markDelivered') {
      throw new TypeError(`unknown store op '${(o as { op: unknown }).op as string}'`);
    }
  }
}

/** Throw RangeError unless (queueId, seq, failures) can be recorded (see Store.recordFailures). */
export function checkFailures(queueId: number, seq: number, failures: number): void {
  if (!isU32(queueId) || !isU32(failures) || !Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(
      `recordFailures needs a queue id, a seq and a count that are unsigned integers, got ` +
        `${queueId}, ${seq}, ${failures}`,
    );
  }
}

/** Throw RangeError unless a dedup op's scope, id and expiry can be recorded. */
export function checkDedup(scope: number, id: string, expiresAt: number): void {
  if (!isU32(scope) || typeof id !== 'string' || !(expiresAt >= 0) || !Number.isFinite(expiresAt))
    throw new RangeError(
      `a dedup op needs an unsigned 32-bit scope, a string id and an expiry >= 0, got ` +
        `${scope}, ${typeof id}, ${expiresAt}`,
    );
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
