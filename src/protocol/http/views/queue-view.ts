import type { Queue } from '../../../core/queue.js';
import { jsonTable } from '../json-value.js';
import type { Item } from '../listing.js';
import { QUEUE_STAT_NAMES, queueCounters, withRates } from '../message-stats.js';
import { NODE_NAME } from '../node.js';
import type { Rates } from '../rates.js';
import { connectionName } from './connection-view.js';

/** One queue as RabbitMQ's GET /api/queues shows it. */
export function queueView(q: Queue, rates: Rates): Item {
  const ready = q.messageCount;
  const unacked = q.unackedCount;
  const consumers = q.consumerCount;
  const owner = q.owner?.details;
  const first = q.consumers[0];
  const exclusiveConsumer = q.consumers.find((c) => c.exclusive);
  return {
    name: q.name,
    vhost: q.vhostName,
    durable: q.durable,
    auto_delete: q.autoDelete,
    exclusive: q.exclusive,
    arguments: jsonTable(q.arguments),
    type: q.policy.queueType,
    state: 'running',
    node: NODE_NAME,
    ...(owner === undefined
      ? {}
      : {
          owner_pid_details: {
            name: connectionName(owner),
            peer_host: owner.peerHost,
            peer_port: owner.peerPort,
          },
        }),
    consumers,
    // Baton keeps no per-consumer busy time: a queue with consumers counts as fully used.
    consumer_capacity: consumers === 0 ? 0 : 1,
    consumer_utilisation: consumers === 0 ? 0 : 1,
    messages: ready + unacked,
    messages_details: rates.details(q, 'messages'),
    messages_ready: ready,
    messages_ready_details: rates.details(q, 'messages_ready'),
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: rates.details(q, 'messages_unacknowledged'),
    message_bytes: q.readyBodyBytes,
    message_bytes_ready: q.readyBodyBytes,
    head_message_timestamp: null,
    exclusive_consumer_tag: exclusiveConsumer?.tag ?? null,
    single_active_consumer_tag: q.singleActive ? (first?.tag ?? null) : null,
    policy: null,
    operator_policy: null,
    effective_policy_definition: {},
    message_stats: withRates(rates, [[q, queueCounters(q.stats)]], QUEUE_STAT_NAMES),
  };
}
