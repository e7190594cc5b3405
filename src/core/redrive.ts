import type { StoreOp } from '../store/store.js';
import { InternalError, PreconditionFailedError } from './errors.js';
import type { Queue } from './queue.js';
import type { QueueEntry } from './queue-entry.js';
import { Routed } from './routing.js';
import type { Session } from './session.js';

export interface RedriveOptions {
  /** Move every message here; without it, each goes back to the queue it last died in. */
  to?: string;
  /** Move at most this many (a positive integer); all of them without it. */
  limit?: number;
}

/** Why a message was left where it was. */
export type RedriveSkip = 'no-x-death' | 'queue-missing' | 'queue-full' | 'access-refused';

export interface RedriveResult {
  moved: number;
  skipped: number;
  /** Skipped messages by reason (only reasons that occurred). */
  skippedBy: Partial<Record<RedriveSkip, number>>;
  /** Moved messages by target queue. */
  movedTo: Record<string, number>;
}

/** Messages moved per turn of the event loop: a large redrive never starves the others. */
const TURN = 256;

/**
 * Redrive: move ready messages from the head of a dead-letter queue, in order, to `to` or to
 * the queue each one last died in (its newest `x-death` entry). Properties and headers go
 * unchanged (x-death included: the history is kept); the copy is routed as if published to the
 * default exchange under the target's name. Its enqueue and the settle in the dead-letter queue
 * are one atomic store commit, as dead-lettering's, so after any crash a message is in exactly
 * one of the two queues.
 *
 * A message whose target is unknown (no x-death) or gone is left in place and counted as
 * skipped; the run goes on with the next one, and the skipped ones get their places back when
 * it ends. Only messages that were in the queue when it began are considered, so a queue that
 * refills (or a message whose target is this queue) cannot keep it going for ever. Resolves
 * once every move is durable.
 */
export async function redrive(
  session: Session,
  queueName: string,
  options: RedriveOptions = {},
): Promise<RedriveResult> {
  const vhost = session.vhost;
  const source = vhost.getQueue(queueName, session.connection);
  const limit = options.limit ?? Infinity;
  if (options.limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0))
    throw new PreconditionFailedError(
      `redrive limit must be a positive whole number, got ${String(options.limit)}`,
    );
  const fixed =
    options.to === undefined ? undefined : vhost.getQueue(options.to, session.connection);
  if (fixed === source)
    throw new PreconditionFailedError(
      `cannot redrive queue '${queueName}' in vhost '${vhost.name}' into itself`,
    );
  const props = vhost.broker.properties;
  const result: RedriveResult = { moved: 0, skipped: 0, skippedBy: {}, movedTo: {} };
  const bound = source.nextSeq;
  const held: QueueEntry[] = [];
  const r = new Routed();

  const targetOf = (entry: QueueEntry): Queue | RedriveSkip => {
    if (fixed !== undefined) return fixed.deleted ? 'queue-missing' : fixed;
    const deaths = props.header(entry.message, 'x-death');
    const newest: unknown = Array.isArray(deaths) ? deaths[0] : undefined;
    const name =
      typeof newest === 'object' && newest !== null
        ? text((newest as Record<string, unknown>).queue)
        : undefined;
    if (name === undefined) return 'no-x-death';
    const q = vhost.queues.get(name);
    // Gone, another connection's exclusive queue, or this queue itself: nowhere to go.
    if (
      q === undefined ||
      q === source ||
      (q.owner !== undefined && q.owner !== session.connection)
    )
      return 'queue-missing';
    // x-death is the publisher's to write: moving there needs write on that queue.
    if (!session.connection.access.permits('write', 'queue', q.name)) return 'access-refused';
    return q;
  };

  /** Move one taken entry; the store's refusal when it refused the commit (entry untouched). */
  const move = (entry: QueueEntry, target: Queue): Error | undefined => {
    const m = entry.message;
    // A copy without the source's store location: the target's enqueue writes its own record.
    // Arrives in its target now: a queue TTL there counts from the move.
    const copy = m.withEncodedProperties(
      m.properties,
      props.of(m),
      m.persistent,
      m.expiresAt,
      Date.now(),
    );
    copy.exchange = '';
    copy.routingKey = target.name;
    r.reset('', target.name, copy);
    r.queues.push(target);
    const settle: StoreOp | undefined = entry.journaled
      ? { op: 'settle', queueId: source.id, seq: entry.seq, message: m }
      : undefined;
    vhost.apply(r, settle);
    // (A full reject-publish target was skipped before, in the same turn: never rejected here.)
    const failed = r.failed;
    r.release();
    if (failed !== undefined) return failed;
    source.moved(entry);
    if (vhost.tracing) vhost.tracer.redriven(source, target, m);
    result.moved++;
    result.movedTo[target.name] = (result.movedTo[target.name] ?? 0) + 1;
    return undefined;
  };

  let failure: Error | undefined;
  try {
    outer: while (result.moved < limit) {
      for (let n = 0; n < TURN && result.moved < limit; n++) {
        if (session.closed || source.deleted) break outer;
        const entry = source.takeForMove();
        if (entry === undefined) {
          const later = source.whenReady();
          // Nothing left, or the store could not read the rest back: done.
          if (later === undefined) break outer;
          await later;
          continue;
        }
        if (entry.seq >= bound) {
          held.push(entry);
          break outer;
        }
        const target = targetOf(entry);
        // A full reject-publish target refuses it: left here rather than lost or bounced.
        const skip =
          typeof target === 'string'
            ? target
            : target.rejectsWhenFull && target.isFull(entry.message)
              ? 'queue-full'
              : undefined;
        if (skip !== undefined) {
          held.push(entry);
          result.skipped++;
          result.skippedBy[skip] = (result.skippedBy[skip] ?? 0) + 1;
          continue;
        }
        failure = move(entry, target as Queue);
        if (failure !== undefined) {
          held.push(entry);
          break outer;
        }
      }
      // Let deliveries, acks and heartbeats through between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    // Skipped (and unmoved) messages regain their places, in seq order.
    for (const e of held) source.putBack(e);
  }
  if (failure !== undefined)
    throw new InternalError(
      `redrive of '${queueName}' stopped after ${result.moved} messages: ${failure.message}`,
      failure,
    );
  if (result.moved !== 0) await synced(session);
  return result;
}

function synced(session: Session): Promise<void> {
  return new Promise((resolve, reject) =>
    session.vhost.broker.afterSync((err) => (err === undefined ? resolve() : reject(err))),
  );
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString();
  return undefined;
}
