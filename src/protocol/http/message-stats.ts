import { QueueStats, VhostStats } from '../../core/stats.js';
import type { Rates } from './rates.js';

export type Values = Record<string, number>;

/** A vhost's counters under RabbitMQ's message_stats names. */
export function vhostCounters(s: VhostStats): Values {
  const deliver = s.deliveredConsumeManualAck;
  const deliverNoAck = s.deliveredConsumeAutoAck;
  const get = s.deliveredGetManualAck;
  const getNoAck = s.deliveredGetAutoAck;
  return {
    publish: s.received,
    confirm: s.confirmed,
    deliver_get: deliver + deliverNoAck + get + getNoAck,
    deliver,
    deliver_no_ack: deliverNoAck,
    get,
    get_no_ack: getNoAck,
    get_empty: s.getEmpty,
    redeliver: s.redelivered,
    ack: s.acknowledged,
    return_unroutable: s.unroutableReturned,
    drop_unroutable: s.unroutableDropped,
  };
}

/** A vhost's object churn under RabbitMQ's churn_rates names. */
export function churnCounters(s: VhostStats): Values {
  return {
    channel_closed: s.channelsClosed,
    channel_created: s.channelsOpened,
    connection_closed: s.connectionsClosed,
    connection_created: s.connectionsOpened,
    queue_created: s.queuesCreated,
    queue_declared: s.queuesDeclared,
    queue_deleted: s.queuesDeleted,
  };
}

/** A queue's counters under RabbitMQ's queue message_stats names. */
export function queueCounters(s: QueueStats): Values {
  return {
    publish: s.publish,
    deliver_get: s.deliver + s.deliverNoAck + s.get + s.getNoAck,
    deliver: s.deliver,
    deliver_no_ack: s.deliverNoAck,
    get: s.get,
    get_no_ack: s.getNoAck,
    get_empty: s.getEmpty,
    redeliver: s.redeliver,
    ack: s.ack,
  };
}

/**
 * `{name: n, name_details: {rate}}` for each counter, summed over `sources` (one vhost, one
 * queue, or every vhost for the overview); rates come from each source's own samples.
 */
export function withRates(
  rates: Rates,
  sources: readonly (readonly [key: object, values: Values])[],
  names: readonly string[],
): Record<string, number | { rate: number }> {
  const out: Record<string, number | { rate: number }> = {};
  for (const n of names) {
    let total = 0;
    let rate = 0;
    for (const [key, values] of sources) {
      total += values[n] ?? 0;
      rate += rates.rate(key, n);
    }
    out[n] = total;
    out[`${n}_details`] = { rate: Math.round(rate * 10) / 10 };
  }
  return out;
}

/** The message_stats, churn_rates and queue message_stats names, in RabbitMQ's order. */
export const VHOST_STAT_NAMES = Object.keys(vhostCounters(new VhostStats()));
export const CHURN_NAMES = Object.keys(churnCounters(new VhostStats()));
export const QUEUE_STAT_NAMES = Object.keys(queueCounters(new QueueStats()));
