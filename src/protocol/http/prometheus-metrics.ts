import type { Broker, StoreHealth } from '../../core/broker.js';
import type { Queue } from '../../core/queue.js';
import { DEAD_LETTER_REASONS, type DeadLetterCounts, type VhostStats } from '../../core/stats.js';
import type { Exposition, Labels } from './exposition.js';

/** Figures about the process and its host, read once per scrape (node-facts.ts). */
export interface NodeFacts {
  node: string;
  version: string;
  rss: number;
  memoryLimit: number;
  diskFree: number;
  diskFreeLimit: number;
  openFds: number;
  maxFds: number;
}

const PROTOCOL: Labels = { protocol: 'amqp091' };

/** Counters RabbitMQ keeps in rabbit_global_counters, from the vhosts' sum. */
function globalCounters(x: Exposition, s: VhostStats): void {
  const c = (name: string, help: string, v: number): void => {
    x.metric(`rabbitmq_global_${name}`, 'counter', help, v, PROTOCOL);
  };
  c('messages_received_total', 'Total number of messages received from publishers', s.received);
  c(
    'messages_received_confirm_total',
    'Total number of messages received from publishers expecting confirmations',
    s.receivedConfirm,
  );
  c('messages_routed_total', 'Total number of messages routed to queues or streams', s.routed);
  c(
    'messages_unroutable_dropped_total',
    'Total number of messages published as non-mandatory into an exchange and dropped as unroutable',
    s.unroutableDropped,
  );
  c(
    'messages_unroutable_returned_total',
    'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable',
    s.unroutableReturned,
  );
  c('messages_confirmed_total', 'Total number of messages confirmed to publishers', s.confirmed);
  const delivered =
    s.deliveredConsumeManualAck +
    s.deliveredConsumeAutoAck +
    s.deliveredGetManualAck +
    s.deliveredGetAutoAck;
  c('messages_delivered_total', 'Total number of messages delivered to consumers', delivered);
  c(
    'messages_delivered_consume_manual_ack_total',
    'Total number of messages delivered to consumers using basic.consume with manual acknowledgment',
    s.deliveredConsumeManualAck,
  );
  c(
    'messages_delivered_consume_auto_ack_total',
    'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment',
    s.deliveredConsumeAutoAck,
  );
  c(
    'messages_delivered_get_manual_ack_total',
    'Total number of messages delivered to consumers using basic.get with manual acknowledgment',
    s.deliveredGetManualAck,
  );
  c(
    'messages_delivered_get_auto_ack_total',
    'Total number of messages delivered to consumers using basic.get with automatic acknowledgment',
    s.deliveredGetAutoAck,
  );
  c(
    'messages_get_empty_total',
    'Total number of times basic.get operations fetched no message',
    s.getEmpty,
  );
  c(
    'messages_redelivered_total',
    'Total number of messages redelivered to consumers',
    s.redelivered,
  );
  c(
    'messages_acknowledged_total',
    'Total number of message acknowledgements received from consumers',
    s.acknowledged,
  );
  deadLettered(x, s);
}

/** RabbitMQ's dead-letter counters: by reason, labelled with queue type and strategy. */
function deadLettered(x: Exposition, s: VhostStats): void {
  const sets: [string, string, DeadLetterCounts][] = [
    ['rabbit_classic_queue', 'at_most_once', s.deadLettered],
    ['rabbit_classic_queue', 'disabled', s.deadLetterDropped],
    ['rabbit_quorum_queue', 'at_most_once', s.quorumDeadLettered],
    ['rabbit_quorum_queue', 'disabled', s.quorumDeadLetterDropped],
  ];
  for (const reason of DEAD_LETTER_REASONS) {
    const name = `rabbitmq_global_messages_dead_lettered_${reason}_total`;
    x.family(name, 'counter', `Total number of messages dead-lettered due to ${reason}`);
    for (const [queueType, strategy, counts] of sets)
      x.sample(name, counts[reason], { queue_type: queueType, dead_letter_strategy: strategy });
  }
  // Not in RabbitMQ: the issue names it; the sum of the above that reached a dead-letter exchange.
  x.metric(
    'rabbitmq_global_messages_dead_lettered_total',
    'counter',
    'Total number of messages dead-lettered (republished to a dead-letter exchange), any reason (Baton)',
    s.deadLetteredTotal(),
  );
}

/** Live counts: connections, channels, queues, consumers (internal ones left out). */
function totals(x: Exposition, broker: Broker, s: VhostStats): void {
  let connections = 0;
  let channels = 0;
  let channelConsumers = 0;
  let unconfirmed = 0;
  let unacked = 0;
  for (const c of broker.connections) {
    if (!c.counted) continue;
    connections++;
    for (const session of c.sessions) {
      channels++;
      channelConsumers += session.consumers.size;
      unconfirmed += session.unconfirmedCount;
      unacked += session.unackedCount;
    }
  }
  let queues = 0;
  let consumers = 0;
  for (const v of broker.vhosts.values())
    for (const q of v.queues.values()) {
      queues++;
      consumers += q.consumerCount;
    }
  x.metric('rabbitmq_connections', 'gauge', 'Connections currently open', connections);
  x.metric('rabbitmq_channels', 'gauge', 'Channels currently open', channels);
  x.metric('rabbitmq_queues', 'gauge', 'Queues available', queues);
  x.metric('rabbitmq_consumers', 'gauge', 'Consumers currently connected', consumers);
  churn(x, s, 'rabbitmq_');
  // The channel family as RabbitMQ aggregates it (the Overview dashboard reads these).
  const ch = (
    name: string,
    help: string,
    v: number,
    type: 'counter' | 'gauge' = 'counter',
  ): void => {
    x.metric(`rabbitmq_channel_${name}`, type, help, v);
  };
  ch('consumers', 'Consumers on a channel', channelConsumers, 'gauge');
  ch('messages_unacked', 'Delivered but not yet acknowledged messages', unacked, 'gauge');
  ch('messages_unconfirmed', 'Published but not yet confirmed messages', unconfirmed, 'gauge');
  ch(
    'messages_published_total',
    'Total number of messages published into an exchange on a channel',
    s.received,
  );
  ch(
    'messages_confirmed_total',
    'Total number of messages published into an exchange and confirmed on the channel',
    s.confirmed,
  );
  ch(
    'messages_unroutable_returned_total',
    'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable',
    s.unroutableReturned,
  );
  ch(
    'messages_unroutable_dropped_total',
    'Total number of messages published as non-mandatory into an exchange and dropped as unroutable',
    s.unroutableDropped,
  );
  ch(
    'get_ack_total',
    'Total number of messages fetched with basic.get in manual acknowledgement mode',
    s.deliveredGetManualAck,
  );
  ch(
    'get_total',
    'Total number of messages fetched with basic.get in automatic acknowledgement mode',
    s.deliveredGetAutoAck,
  );
  ch(
    'get_empty_total',
    'Total number of times basic.get operations fetched no message',
    s.getEmpty,
  );
  ch(
    'messages_delivered_ack_total',
    'Total number of messages delivered to consumers in manual acknowledgement mode',
    s.deliveredConsumeManualAck,
  );
  ch(
    'messages_delivered_total',
    'Total number of messages delivered to consumers in automatic acknowledgement mode',
    s.deliveredConsumeAutoAck,
  );
  ch(
    'messages_redelivered_total',
    'Total number of messages redelivered to consumers',
    s.redelivered,
  );
  ch('messages_acked_total', 'Total number of messages acknowledged by consumers', s.acknowledged);
}

/** Connection, channel and queue churn (RabbitMQ's connection_churn_metrics family). */
export function churn(x: Exposition, s: VhostStats, prefix: string): void {
  const c = (name: string, help: string, v: number): void => {
    x.metric(`${prefix}${name}`, 'counter', help, v);
  };
  c('connections_opened_total', 'Total number of connections opened', s.connectionsOpened);
  c(
    'connections_closed_total',
    'Total number of connections closed or terminated',
    s.connectionsClosed,
  );
  c('channels_opened_total', 'Total number of channels opened', s.channelsOpened);
  c('channels_closed_total', 'Total number of channels closed', s.channelsClosed);
  c('queues_declared_total', 'Total number of queues declared', s.queuesDeclared);
  c('queues_created_total', 'Total number of queues created', s.queuesCreated);
  c('queues_deleted_total', 'Total number of queues deleted', s.queuesDeleted);
}

/** The queue metric groups of RabbitMQ's per-object output, by its family names. */
export const QUEUE_FAMILIES = [
  'queue_coarse_metrics',
  'queue_consumer_count',
  'queue_metrics',
  'channel_queue_metrics',
  'channel_queue_exchange_metrics',
] as const;
export type QueueFamily = (typeof QUEUE_FAMILIES)[number];

type QueueMetric = [
  name: string,
  type: 'counter' | 'gauge',
  help: string,
  get: (q: Queue) => number,
];

const QUEUE_METRICS: Record<QueueFamily, QueueMetric[]> = {
  queue_coarse_metrics: [
    [
      'queue_messages_ready',
      'gauge',
      'Messages ready to be delivered to consumers',
      (q) => q.messageCount,
    ],
    [
      'queue_messages_unacked',
      'gauge',
      'Messages delivered to consumers but not yet acknowledged',
      (q) => q.unackedCount,
    ],
    [
      'queue_messages',
      'gauge',
      'Sum of ready and unacknowledged messages - total queue depth',
      (q) => q.messageCount + q.unackedCount,
    ],
  ],
  queue_consumer_count: [
    ['queue_consumers', 'gauge', 'Consumers on a queue', (q) => q.consumerCount],
  ],
  queue_metrics: [
    [
      'queue_messages_ready_bytes',
      'gauge',
      'Size in bytes of ready messages',
      (q) => q.readyBodyBytes,
    ],
  ],
  channel_queue_metrics: [
    [
      'queue_get_ack_total',
      'counter',
      'Total number of messages fetched from a queue with basic.get in manual acknowledgement mode',
      (q) => q.stats.get,
    ],
    [
      'queue_get_total',
      'counter',
      'Total number of messages fetched from a queue with basic.get in automatic acknowledgement mode',
      (q) => q.stats.getNoAck,
    ],
    [
      'queue_get_empty_total',
      'counter',
      'Total number of times basic.get operations fetched no message on a queue',
      (q) => q.stats.getEmpty,
    ],
    [
      'queue_messages_delivered_ack_total',
      'counter',
      'Total number of messages delivered from a queue to consumers in manual acknowledgement mode',
      (q) => q.stats.deliver,
    ],
    [
      'queue_messages_delivered_total',
      'counter',
      'Total number of messages delivered from a queue to consumers in automatic acknowledgement mode',
      (q) => q.stats.deliverNoAck,
    ],
    [
      'queue_messages_redelivered_total',
      'counter',
      'Total number of messages redelivered from a queue to consumers',
      (q) => q.stats.redeliver,
    ],
    [
      'queue_messages_acked_total',
      'counter',
      'Total number of messages acknowledged by consumers on a queue',
      (q) => q.stats.ack,
    ],
  ],
  channel_queue_exchange_metrics: [
    [
      'queue_messages_published_total',
      'counter',
      'Total number of messages published to queues',
      (q) => q.stats.publish,
    ],
  ],
};

/** Per-queue samples labelled {vhost, queue}; direct reply-to endpoints are no queues. */
export function queueMetrics(
  x: Exposition,
  broker: Broker,
  prefix: string,
  families: readonly QueueFamily[],
  vhosts?: ReadonlySet<string>,
): void {
  const queues: [Labels, Queue][] = [];
  for (const v of broker.vhosts.values()) {
    if (vhosts !== undefined && !vhosts.has(v.name)) continue;
    for (const q of v.queues.values()) queues.push([{ vhost: v.name, queue: q.name }, q]);
  }
  for (const f of families)
    for (const [name, type, help, get] of QUEUE_METRICS[f]) {
      const full = prefix + name;
      x.family(full, type, help);
      for (const [labels, q] of queues) x.sample(full, get(q), labels);
    }
}

/** Node figures RabbitMQ reports (memory, disk, descriptors) and identity. */
function nodeMetrics(x: Exposition, broker: Broker, n: NodeFacts): void {
  x.metric('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes', n.rss);
  x.metric(
    'rabbitmq_resident_memory_limit_bytes',
    'gauge',
    'Memory high watermark in bytes',
    n.memoryLimit,
  );
  x.metric(
    'rabbitmq_disk_space_available_bytes',
    'gauge',
    'Disk space available in bytes',
    n.diskFree,
  );
  x.metric(
    'rabbitmq_disk_space_available_limit_bytes',
    'gauge',
    'Free disk space low watermark in bytes',
    n.diskFreeLimit,
  );
  x.metric('rabbitmq_process_open_fds', 'gauge', 'Open file descriptors', n.openFds);
  x.metric('rabbitmq_process_max_fds', 'gauge', 'Open file descriptors limit', n.maxFds);
  let sockets = 0;
  for (const c of broker.connections) if (c.counted) sockets++;
  x.metric('rabbitmq_process_open_tcp_sockets', 'gauge', 'Open TCP sockets', sockets);
  x.metric('rabbitmq_process_max_tcp_sockets', 'gauge', 'Open TCP sockets limit', n.maxFds);
  const a = broker.alarms;
  x.metric(
    'rabbitmq_alarms_memory_used_watermark',
    'gauge',
    'is 1 if VM memory watermark alarm is in effect',
    a.active('memory') ? 1 : 0,
  );
  x.metric(
    'rabbitmq_alarms_free_disk_space_watermark',
    'gauge',
    'is 1 if free disk space watermark alarm is in effect',
    a.active('disk') || a.active('journal') ? 1 : 0,
  );
  x.metric(
    'rabbitmq_alarms_file_descriptor_limit',
    'gauge',
    'is 1 if file descriptor limit alarm is in effect',
    0,
  );
  buildInfo(x, n);
}

export function identityInfo(x: Exposition, n: NodeFacts, endpoint: string): void {
  x.metric('rabbitmq_identity_info', 'untyped', 'RabbitMQ node & cluster identity info', 1, {
    rabbitmq_node: n.node,
    rabbitmq_cluster: n.node,
    rabbitmq_endpoint: endpoint,
  });
}

function buildInfo(x: Exposition, n: NodeFacts): void {
  x.metric('rabbitmq_build_info', 'untyped', 'RABBITMQ and Erlang/OTP version info', 1, {
    rabbitmq_version: n.version,
    prometheus_plugin_version: n.version,
    prometheus_client_version: n.version,
    erlang_version: process.version,
    product: 'Baton',
  });
}

/** What only Baton has: the journal's health, paging, alarms by source. */
function batonMetrics(x: Exposition, broker: Broker, h: StoreHealth | undefined): void {
  if (h !== undefined) {
    x.histogram(
      'baton_journal_fsync_seconds',
      'Latency of the journal group commit fdatasync',
      h.fsyncSeconds,
    );
    x.histogram(
      'baton_journal_commit_batch_records',
      'Records per journal group-commit batch',
      h.commitBatchRecords,
    );
    x.metric('baton_journal_segments', 'gauge', 'Journal segment files in use', h.segments);
    x.metric('baton_journal_bytes', 'gauge', 'Bytes of records in the journal segments', h.bytes);
    x.metric(
      'baton_journal_live_messages',
      'gauge',
      'Messages the journal holds live',
      h.liveMessages,
    );
    x.metric(
      'baton_journal_records_total',
      'counter',
      'Records appended to the journal',
      h.appendedRecords,
    );
    x.metric(
      'baton_journal_written_bytes_total',
      'counter',
      'Bytes written to the journal',
      h.bytesWritten,
    );
    x.metric(
      'baton_journal_compactions_total',
      'counter',
      'Journal segments compacted',
      h.compactions,
    );
    x.metric(
      'baton_journal_write_retries_total',
      'counter',
      'Journal writes retried after the disk was full',
      h.writeRetries,
    );
    x.metric(
      'baton_journal_torn_tail_bytes_total',
      'counter',
      'Bytes of a torn tail cut by the last recovery',
      h.recovery.tornTailBytes,
    );
    x.metric(
      'baton_journal_skipped_bytes_total',
      'counter',
      'Corrupt bytes skipped by the last recovery (--recover-skip-corrupt)',
      h.recovery.skippedBytes,
    );
    x.metric(
      'baton_journal_skipped_ranges_total',
      'counter',
      'Corrupt ranges skipped by the last recovery',
      h.recovery.skippedRanges,
    );
    x.metric(
      'baton_journal_failed',
      'gauge',
      'is 1 once the journal failed for good',
      h.failure === undefined ? 0 : 1,
    );
  }
  x.metric(
    'baton_paged_bytes',
    'gauge',
    'Bytes of queued messages kept out of memory (paged out or spilled)',
    broker.bodies.paged,
  );
  x.metric(
    'baton_body_memory_bytes',
    'gauge',
    'Bytes of message bodies held in memory',
    broker.bodies.bytes,
  );
  x.metric(
    'baton_body_memory_limit_bytes',
    'gauge',
    'The body budget: past it bodies are paged out',
    broker.bodies.limit,
  );
  x.family('baton_alarm', 'gauge', 'is 1 while the resource alarm is on (publishers blocked)');
  for (const resource of ['memory', 'disk', 'journal'] as const)
    x.sample('baton_alarm', broker.alarms.active(resource) ? 1 : 0, { resource });
}

/** Everything /metrics and /metrics/per-object serve. */
export function writeAll(x: Exposition, broker: Broker, n: NodeFacts, endpoint: string): void {
  const s = broker.stats();
  identityInfo(x, n, endpoint);
  globalCounters(x, s);
  totals(x, broker, s);
  queueMetrics(x, broker, 'rabbitmq_', QUEUE_FAMILIES);
  nodeMetrics(x, broker, n);
  batonMetrics(x, broker, broker.storeHealth());
}
