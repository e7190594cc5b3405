import { parseDedupPolicy, type DedupPolicy } from './dedup.js';
import {
  describeValue,
  integerArgument,
  invalidArgument,
  type ArgumentOwner,
} from './arguments.js';
import { NotImplementedError, type PreconditionFailedError } from './errors.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** Retry backoff (LavinMQ's x-delayed-retry-*): delay before a requeued message is ready. */
export interface RetryBackoff {
  minMs: number;
  maxMs: number | undefined;
  /** Unset: linear (min × attempt); 1: constant; ≥ 2: exponential. */
  multiplier: number | undefined;
}

/**
 * A queue's x-arguments, parsed and checked once at declare (RabbitMQ's names and rules), so
 * nothing on the hot path reads the raw table. Undefined means "not set".
 */
export interface QueuePolicy {
  messageTtl: number | undefined;
  expires: number | undefined;
  maxLength: number | undefined;
  maxLengthBytes: number | undefined;
  overflow: Overflow;
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  /**
   * Failed deliveries a message may have before it is dead-lettered (reason delivery_limit)
   * or dropped. Set by x-delivery-limit (-1: none); unset, 20 for quorum queues (RabbitMQ 4)
   * and for queues with retry backoff (LavinMQ); undefined: no limit.
   */
  deliveryLimit: number | undefined;
  /**
   * x-max-priority (0..255, as RabbitMQ): the queue delivers higher priorities first; a
   * message's priority above it counts as it. 0 is accepted and means one level (FIFO).
   */
  maxPriority: number | undefined;
  singleActiveConsumer: boolean;
  consumerTimeout: number | undefined;
  retry: RetryBackoff | undefined;
  queueType: string;
  /** x-message-deduplication and its x-cache-size, x-cache-ttl, x-deduplication-header. */
  dedup: DedupPolicy | undefined;
}

type Where = { queue: string; vhost: string };

/** Default delivery limit of quorum queues (RabbitMQ 4) and of queues with retries (LavinMQ). */
export const DEFAULT_DELIVERY_LIMIT = 20;

/**
 * RabbitMQ and LavinMQ queue arguments Baton does not act on yet: refused at declare with
 * 540 NOT_IMPLEMENTED rather than accepted and ignored (silent no-ops lose data). The value
 * says where the feature is planned.
 */
const NOT_IMPLEMENTED: Readonly<Record<string, string>> = {
  'x-max-age': 'streams are not implemented',
  'x-stream-max-segment-size-bytes': 'streams are not implemented',
  'x-stream-filter-size-bytes': 'streams are not implemented',
  'x-initial-cluster-size': 'streams are not implemented',
};

/** Parse a queue's arguments; a value of the wrong type or range is a 406, as in RabbitMQ. */
export function parseQueuePolicy(args: Record<string, unknown>, where: Where): QueuePolicy {
  for (const name of Object.keys(args)) {
    const why = NOT_IMPLEMENTED[name];
    if (why !== undefined)
      throw new NotImplementedError(
        `queue argument '${name}' for queue '${where.queue}' in vhost '${where.vhost}': ${why}`,
        'channel',
      );
  }
  const int = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined =>
    integerArgument(args, name, min, max, owner(where));
  const str = (name: string): string | undefined => stringArg(args, name, where);
  const overflow = str('x-overflow') ?? 'drop-head';
  if (
    overflow !== 'drop-head' &&
    overflow !== 'reject-publish' &&
    overflow !== 'reject-publish-dlx'
  )
    throw invalid('x-overflow', where, `unknown overflow behaviour '${overflow}'`);
  const retryMin = int('x-delayed-retry-min', 0);
  const sac = args['x-single-active-consumer'];
  if (sac !== undefined && typeof sac !== 'boolean')
    throw invalid('x-single-active-consumer', where, 'must be a boolean');
  const dlx = str('x-dead-letter-exchange');
  const dlrk = str('x-dead-letter-routing-key');
  if (dlrk !== undefined && dlx === undefined)
    throw invalid(
      'x-dead-letter-routing-key',
      where,
      'x-dead-letter-exchange must be set when x-dead-letter-routing-key is',
    );
  const queueType = str('x-queue-type') ?? 'classic';
  if (queueType === 'stream')
    throw new NotImplementedError(
      `queue type 'stream' for queue '${where.queue}' in vhost '${where.vhost}': streams are not implemented`,
      'channel',
    );
  if (queueType !== 'classic' && queueType !== 'quorum')
    throw invalid('x-queue-type', where, `unknown queue type '${queueType}'`);
  const strategy = str('x-dead-letter-strategy');
  if (strategy !== undefined && strategy !== 'at-most-once' && strategy !== 'at-least-once')
    throw invalid('x-dead-letter-strategy', where, `unknown strategy '${strategy}'`);
  const retry: RetryBackoff | undefined =
    retryMin === undefined
      ? undefined
      : {
          minMs: retryMin,
          maxMs: int('x-delayed-retry-max', 0),
          multiplier: int('x-delayed-retry-multiplier', 1),
        };
  if (retry === undefined)
    for (const name of ['x-delayed-retry-max', 'x-delayed-retry-multiplier'])
      if (args[name] !== undefined)
        throw invalid(name, where, 'x-delayed-retry-min must be set when it is');
  const limit = int('x-delivery-limit', -1);
  const deliveryLimit =
    limit === -1
      ? undefined
      : (limit ??
        (retry !== undefined || queueType === 'quorum' ? DEFAULT_DELIVERY_LIMIT : undefined));
  return {
    messageTtl: int('x-message-ttl', 0),
    expires: int('x-expires', 1),
    maxLength: int('x-max-length', 0),
    maxLengthBytes: int('x-max-length-bytes', 0),
    overflow,
    deadLetterExchange: dlx,
    deadLetterRoutingKey: dlrk,
    deliveryLimit,
    maxPriority: int('x-max-priority', 0, 255),
    singleActiveConsumer: sac === true,
    consumerTimeout: int('x-consumer-timeout', 0),
    retry,
    queueType,
    dedup: parseDedupPolicy(args, owner(where)),
  };
}

function stringArg(args: Record<string, unknown>, name: string, where: Where): string | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v.toString();
  if (typeof v !== 'string')
    throw invalid(name, where, `must be a string, got ${describeValue(v)}`);
  return v;
}

function invalid(name: string, where: Where, why: string): PreconditionFailedError {
  return invalidArgument(name, owner(where), why);
}

function owner(where: Where): ArgumentOwner {
  return { kind: 'queue', name: where.queue, vhost: where.vhost };
}
