import type { StoreOp } from '../store/store.js';
import type { DedupClaim } from './dedup.js';
import { delayedCopy } from './delayed.js';
import type { Message } from './message.js';
import type { Routed } from './routing.js';
import type { VirtualHost } from './vhost.js';
import { clearArray } from '../util/clear-array.js';

/** The enqueue of a delayed publish's copy under its delayed exchanges' store ids. */
type DelayedOp = { op: 'enqueue'; message: Message; queueIds: number[]; seqs: number[] };

/**
 * Apply a routed publish (route-then-apply's second half), in four steps: full reject-publish
 * queues and duplicates leave `r.queues`; the store write (one record for every durable queue,
 * or one atomic commit with `first`, a delayed copy or deduplication ids); then the queues and
 * delayed exchanges get it, at once, or once a transaction's commit is written. The outcome
 * is left in `r`; a refused write leaves `r.failed` set and the message nowhere.
 */
export function applyRouted(vhost: VirtualHost, r: Routed, first?: StoreOp): void {
  const message = r.message!;
  const queues = r.queues;
  if (queues.length === 0 && first === undefined && r.delays.length === 0) return;
  for (let i = 0; i < queues.length; i++) {
    const q = queues[i]!;
    // x-overflow reject-publish(-dlx): a full queue refuses it; the others take it.
    if (q.rejectsWhenFull && q.refusesPublish(message)) {
      r.rejected = q;
      queues.splice(i--, 1);
    }
  }
  // x-message-deduplication: duplicates leave r.queues; the ids taken go in the commit.
  const claim = vhost.claimDedup(r);
  const delayed = r.delays.length === 0 ? undefined : delayedOp(r, message);
  if (!journal(vhost, r, first, claim, delayed)) return;
  if (vhost.broker.journal.batching) putAfterCommit(vhost, r, claim, delayed);
  else putNow(vhost, r, delayed);
}

/** The store write; false when the store refused it (`r.failed` set, ids given back). */
function journal(
  vhost: VirtualHost,
  r: Routed,
  first: StoreOp | undefined,
  claim: DedupClaim | undefined,
  delayed: DelayedOp | undefined,
): boolean {
  const message = r.message!;
  const queues = r.queues;
  const ids = r.storeIds;
  const seqs = r.storeSeqs;
  clearArray(ids);
  clearArray(seqs);
  if (message.persistent)
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      if (q.durable && !q.deleted) {
        ids.push(q.id);
        seqs.push(q.nextSeq);
      }
    }
  let extra: StoreOp[] | undefined;
  if (claim !== undefined) claim.ops(ids.length !== 0 || delayed !== undefined, (extra = []));
  if (ids.length === 0 && first === undefined && delayed === undefined) return true;
  // With `first` (a dead-letter move's settle of the source), dedup ids or a delayed copy,
  // one atomic store commit: after a crash all of it is there, or none.
  const guard = vhost.broker.journal;
  const plain = first === undefined && (extra === undefined || extra.length === 0);
  let refused;
  if (plain && delayed === undefined) refused = guard.enqueue(message, ids, seqs);
  else if (plain && ids.length === 0)
    refused = guard.enqueue(delayed!.message, delayed!.queueIds, delayed!.seqs);
  else {
    const ops: StoreOp[] = first === undefined ? [] : [first];
    if (ids.length !== 0) ops.push({ op: 'enqueue', message, queueIds: [...ids], seqs: [...seqs] });
    if (delayed !== undefined) ops.push(delayed);
    if (extra !== undefined) ops.push(...extra);
    refused = guard.commit(ops);
  }
  if (refused !== undefined) {
    claim?.abort();
    r.failed = refused.failed ? vhost.broker.storeFailure() : refused.error;
    r.storeFailed = refused.failed;
    return false;
  }
  r.journaled = ids.length !== 0 || delayed !== undefined;
  return true;
}

/** The hot path: the queues and delayed exchanges take it now. */
function putNow(vhost: VirtualHost, r: Routed, delayed: DelayedOp | undefined): void {
  const message = r.message!;
  const queues = r.queues;
  for (let i = 0; i < queues.length; i++) {
    const q = queues[i]!;
    // Deleted meanwhile (a transaction applies routes made earlier): nothing to put.
    if (q.deleted) continue;
    q.push(message, q.nextSeq++, r.journaled && q.durable);
    const c = q.flow.congestion();
    if (c !== undefined) r.congested = c;
  }
  if (r.delays.length === 0) return;
  const copy = delayed?.message ?? delayedCopy(message, r.dueAt);
  for (const d of r.delays) {
    // Deleted meanwhile (a transaction): nothing to keep.
    if (vhost.exchanges.get(d.exchange.name) !== d.exchange) continue;
    d.add(copy, d.nextSeq++, delayed !== undefined && d.durable, r.returnTo);
  }
}

/**
 * A transaction commits: seqs are taken now, the queues and delayed exchanges get the message
 * once the commit is written (so it has its store reference); a refused commit puts it nowhere
 * and gives its deduplication ids back. Meanwhile the queues count it against their length
 * limits, so later publishes of the same commit see it.
 */
function putAfterCommit(
  vhost: VirtualHost,
  r: Routed,
  claim: DedupClaim | undefined,
  delayed: DelayedOp | undefined,
): void {
  const message = r.message!;
  const targets = r.queues.filter((q) => !q.deleted);
  const at = targets.map((q) => q.nextSeq++);
  const size = message.bodySize;
  for (const q of targets) {
    q.pendingCount++;
    q.pendingBytes += size;
  }
  const landed = (): void => {
    for (const q of targets) {
      q.pendingCount--;
      q.pendingBytes -= size;
    }
  };
  const journaled = r.journaled;
  const holders = r.delays.filter((d) => vhost.exchanges.get(d.exchange.name) === d.exchange);
  const heldAt = holders.map((d) => d.nextSeq++);
  const copy =
    holders.length === 0 ? undefined : (delayed?.message ?? delayedCopy(message, r.dueAt));
  const returnTo = r.returnTo;
  vhost.broker.journal.afterBatch(
    () => {
      landed();
      for (let i = 0; i < targets.length; i++) {
        const q = targets[i]!;
        if (!q.deleted) q.push(message, at[i]!, journaled && q.durable);
      }
      for (let i = 0; i < holders.length; i++) {
        const d = holders[i]!;
        d.add(copy!, heldAt[i]!, delayed !== undefined && d.durable, returnTo);
      }
    },
    () => {
      landed();
      claim?.abort();
    },
  );
}

/** The enqueue of a persistent delayed publish's copy under its durable delayed exchanges. */
function delayedOp(r: Routed, message: Message): DelayedOp | undefined {
  if (!message.persistent) return undefined;
  const queueIds: number[] = [];
  const seqs: number[] = [];
  for (const d of r.delays)
    if (d.durable) {
      queueIds.push(d.storeId);
      seqs.push(d.nextSeq);
    }
  if (queueIds.length === 0) return undefined;
  return { op: 'enqueue', message: delayedCopy(message, r.dueAt), queueIds, seqs };
}
