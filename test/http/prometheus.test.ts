import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';
import { parseExposition, value, type Scrape } from './prometheus-parse.js';

async function scrape(port: number, path = '/metrics'): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

const G = { protocol: 'amqp091' };

/** Every metric the RabbitMQ-Overview Grafana dashboard (rabbitmq_prometheus) queries. */
const OVERVIEW_DASHBOARD = [
  'rabbitmq_identity_info',
  'rabbitmq_build_info',
  'rabbitmq_queue_messages_ready',
  'rabbitmq_queue_messages_unacked',
  'rabbitmq_queue_messages_published_total',
  'rabbitmq_channel_messages_published_total',
  'rabbitmq_channel_messages_confirmed_total',
  'rabbitmq_channel_messages_unconfirmed',
  'rabbitmq_channel_messages_unroutable_dropped_total',
  'rabbitmq_channel_messages_unroutable_returned_total',
  'rabbitmq_channel_messages_delivered_total',
  'rabbitmq_channel_messages_delivered_ack_total',
  'rabbitmq_channel_messages_redelivered_total',
  'rabbitmq_channel_messages_acked_total',
  'rabbitmq_channel_get_total',
  'rabbitmq_channel_get_ack_total',
  'rabbitmq_channel_get_empty_total',
  'rabbitmq_channel_consumers',
  'rabbitmq_channels',
  'rabbitmq_connections',
  'rabbitmq_queues',
  'rabbitmq_resident_memory_limit_bytes',
  'rabbitmq_process_resident_memory_bytes',
  'rabbitmq_disk_space_available_bytes',
  'rabbitmq_process_max_fds',
  'rabbitmq_process_open_fds',
  'rabbitmq_process_max_tcp_sockets',
  'rabbitmq_process_open_tcp_sockets',
  'rabbitmq_queues_declared_total',
  'rabbitmq_queues_created_total',
  'rabbitmq_queues_deleted_total',
  'rabbitmq_channels_opened_total',
  'rabbitmq_channels_closed_total',
  'rabbitmq_connections_opened_total',
  'rabbitmq_connections_closed_total',
];

void test('prometheus: /metrics under load matches what was published, confirmed, delivered and acked', async (t) => {
  const { url, server } = await startBroker(t, { prometheusPort: 0 });
  const port = server.ports.get('prometheus')!;
  const pubConn = await connect(t, url);
  const subConn = await connect(t, url);
  const pub = await pubConn.createConfirmChannel();
  const sub = await subConn.createChannel();
  await pub.assertQueue('load', { durable: true });
  await sub.prefetch(50);
  const n = 3000;
  let got = 0;
  await sub.consume('load', (m) => {
    if (m === null) return;
    got++;
    sub.ack(m);
  });
  let last = 0;
  for (let i = 0; i < n; i += 250) {
    for (let j = i; j < i + 250; j++)
      pub.sendToQueue('load', Buffer.from(`m${j}`), { persistent: true });
    // A scrape in the middle of the load parses, and the counters only grow.
    const mid = await scrape(port);
    const received = value(mid, 'rabbitmq_global_messages_received_total', G);
    assert.ok(received >= last && received <= n);
    last = received;
    await pub.waitForConfirms();
  }
  await until(() => got === n, `${n} deliveries`);
  await sub.checkQueue('load'); // a round trip: every ack before it is handled
  const s = await scrape(port);
  const counts = {
    received: value(s, 'rabbitmq_global_messages_received_total', G),
    receivedConfirm: value(s, 'rabbitmq_global_messages_received_confirm_total', G),
    routed: value(s, 'rabbitmq_global_messages_routed_total', G),
    confirmed: value(s, 'rabbitmq_global_messages_confirmed_total', G),
    delivered: value(s, 'rabbitmq_global_messages_delivered_total', G),
    manualAck: value(s, 'rabbitmq_global_messages_delivered_consume_manual_ack_total', G),
    acknowledged: value(s, 'rabbitmq_global_messages_acknowledged_total', G),
    redelivered: value(s, 'rabbitmq_global_messages_redelivered_total', G),
    dropped: value(s, 'rabbitmq_global_messages_unroutable_dropped_total', G),
  };
  assert.deepEqual(counts, {
    received: n,
    receivedConfirm: n,
    routed: n,
    confirmed: n,
    delivered: n,
    manualAck: n,
    acknowledged: n,
    redelivered: 0,
    dropped: 0,
  });
  const q = { vhost: '/', queue: 'load' };
  assert.equal(value(s, 'rabbitmq_queue_messages_published_total', q), n);
  assert.equal(value(s, 'rabbitmq_queue_messages_delivered_ack_total', q), n);
  assert.equal(value(s, 'rabbitmq_queue_messages_acked_total', q), n);
  assert.equal(value(s, 'rabbitmq_queue_messages', q), 0);
  assert.equal(value(s, 'rabbitmq_queue_consumers', q), 1);
  assert.equal(value(s, 'rabbitmq_connections'), 2);
  assert.equal(value(s, 'rabbitmq_channels'), 2);
  assert.equal(value(s, 'rabbitmq_queues'), 1);
  assert.equal(value(s, 'rabbitmq_consumers'), 1);
  assert.equal(value(s, 'rabbitmq_channel_messages_unconfirmed'), 0);
  // The journal synced them: one fsync latency per sync, records in batches.
  assert.ok(value(s, 'baton_journal_fsync_seconds_count') > 0);
  assert.ok(value(s, 'baton_journal_commit_batch_records_sum') >= n);
  assert.equal(
    value(s, 'baton_journal_fsync_seconds_bucket', { le: '+Inf' }),
    value(s, 'baton_journal_fsync_seconds_count'),
  );
  // /metrics/per-object serves the same families.
  const per = await scrape(port, '/metrics/per-object');
  assert.deepEqual([...per.types.keys()], [...s.types.keys()]);
});

void test('prometheus: the exposition parses, histograms are cumulative, and every Overview dashboard metric is there', async (t) => {
  const { url, server } = await startBroker(t, { prometheusPort: 0 });
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('a "quoted"\\name', { durable: true });
  ch.sendToQueue('a "quoted"\\name', Buffer.from('x'), { persistent: true });
  await ch.waitForConfirms();
  const s = await scrape(server.ports.get('prometheus')!);
  for (const name of OVERVIEW_DASHBOARD) assert.ok(s.types.has(name), `${name} is served`);
  assert.equal(value(s, 'rabbitmq_queue_messages_ready', { queue: 'a "quoted"\\name' }), 1);
  for (const h of ['baton_journal_fsync_seconds', 'baton_journal_commit_batch_records']) {
    assert.equal(s.types.get(h), 'histogram');
    const buckets = s.samples.filter((x) => x.name === `${h}_bucket`).map((x) => x.value);
    assert.ok(buckets.length > 2);
    for (let i = 1; i < buckets.length; i++)
      assert.ok(buckets[i]! >= buckets[i - 1]!, `${h} cumulative`);
  }
  assert.equal(value(s, 'rabbitmq_identity_info'), 1);
  assert.match(
    s.samples.find((x) => x.name === 'rabbitmq_identity_info')!.labels.rabbitmq_node!,
    /^baton@/,
  );
  assert.equal(value(s, 'baton_alarm', { resource: 'memory' }), 0);
  assert.ok(value(s, 'rabbitmq_process_resident_memory_bytes') > 0);
  assert.ok(value(s, 'rabbitmq_process_open_fds') > 0);
  assert.ok(value(s, 'rabbitmq_disk_space_available_bytes') > 0);
  assert.ok(value(s, 'baton_journal_segments') >= 1);
  assert.ok(value(s, 'baton_journal_bytes') > 0);
});

void test('prometheus: dead-lettering, returns and drops by label; direct reply-to endpoints are no queues', async (t) => {
  const { url, server } = await startBroker(t, { prometheusPort: 0 });
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('dlx', 'fanout');
  await ch.assertQueue('dlq');
  await ch.bindQueue('dlq', 'dlx', '');
  await ch.assertQueue('work', { arguments: { 'x-dead-letter-exchange': 'dlx' } });
  await ch.assertQueue('plain');
  ch.sendToQueue('work', Buffer.from('w'));
  ch.sendToQueue('plain', Buffer.from('p'));
  ch.publish('amq.direct', 'nowhere', Buffer.from('d'));
  ch.publish('amq.direct', 'nowhere', Buffer.from('r'), { mandatory: true });
  await ch.waitForConfirms();
  await ch.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
  const w = (await ch.get('work')) as amqp.GetMessage;
  const p = (await ch.get('plain')) as amqp.GetMessage;
  ch.nack(w, false, false);
  ch.reject(p, false);
  assert.equal(await ch.get('plain'), false);
  const s = await scrape(server.ports.get('prometheus')!);
  const dl = 'rabbitmq_global_messages_dead_lettered_rejected_total';
  assert.equal(
    value(s, dl, { queue_type: 'rabbit_classic_queue', dead_letter_strategy: 'at_most_once' }),
    1,
  );
  assert.equal(
    value(s, dl, { queue_type: 'rabbit_classic_queue', dead_letter_strategy: 'disabled' }),
    1,
  );
  assert.equal(value(s, 'rabbitmq_global_messages_dead_lettered_total'), 1);
  assert.equal(value(s, 'rabbitmq_global_messages_unroutable_dropped_total', G), 1);
  assert.equal(value(s, 'rabbitmq_global_messages_unroutable_returned_total', G), 1);
  assert.equal(value(s, 'rabbitmq_global_messages_get_empty_total', G), 1);
  assert.equal(value(s, 'rabbitmq_global_messages_delivered_get_manual_ack_total', G), 2);
  // Three queues, however many reply endpoints; none of them is labelled as a queue.
  assert.equal(value(s, 'rabbitmq_queues'), 3);
  const listed = new Set(
    s.samples.filter((x) => x.name === 'rabbitmq_queue_messages').map((x) => x.labels.queue),
  );
  assert.deepEqual([...listed].sort(), ['dlq', 'plain', 'work']);
  assert.equal(value(s, 'rabbitmq_queue_messages_ready', { queue: 'dlq' }), 1);
});

void test('prometheus: /metrics/detailed serves the families and vhosts asked for, with its prefix', async (t) => {
  const { url, server } = await startBroker(t, { prometheusPort: 0 });
  const port = server.ports.get('prometheus')!;
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('d1');
  const none = await scrape(port, '/metrics/detailed');
  assert.deepEqual([...none.types.keys()], ['rabbitmq_identity_info']);
  const d = await scrape(
    port,
    '/metrics/detailed?family=queue_coarse_metrics&family=connection_churn_metrics&vhost=%2F',
  );
  assert.equal(value(d, 'rabbitmq_detailed_queue_messages_ready', { vhost: '/', queue: 'd1' }), 0);
  assert.equal(value(d, 'rabbitmq_detailed_queues_created_total'), 1);
  assert.equal(d.types.has('rabbitmq_detailed_queue_consumers'), false);
  assert.equal(d.types.has('rabbitmq_queue_messages_ready'), false);
  const other = await scrape(port, '/metrics/detailed?family=queue_consumer_count&vhost=elsewhere');
  assert.equal(
    other.samples.filter((x) => x.name === 'rabbitmq_detailed_queue_consumers').length,
    0,
  );
  const bad = await fetch(`http://127.0.0.1:${port}/metrics/detailed?family=nonsense`);
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /nonsense/);
  const badParam = await fetch(
    `http://127.0.0.1:${port}/metrics/detailed?families=queue_coarse_metrics`,
  );
  assert.equal(badParam.status, 400);
  assert.equal((await fetch(`http://127.0.0.1:${port}/nothing`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);
});

interface JournalHealth {
  store: string;
  segments: number;
  bytes: number;
  syncs: number;
  fsync_seconds: { count: number; sum: number; buckets: { le: number | string; count: number }[] };
  commit_batch_records: { count: number; sum: number };
  recovery: { torn_tail_bytes: number; skipped_bytes: number; clean: boolean };
  paged_bytes: number;
  body_memory_bytes: number;
  alarms: string[];
}

async function journal(port: number): Promise<JournalHealth> {
  const res = await fetch(`http://127.0.0.1:${port}/api/baton/journal`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as JournalHealth;
}

void test('GET /api/baton/journal: store health that moves as the journal syncs', async (t) => {
  const { url, server } = await startBroker(t, { httpPort: 0 });
  const port = server.ports.get('http')!;
  const unauthorized = await fetch(`http://127.0.0.1:${port}/api/baton/journal`);
  assert.equal(unauthorized.status, 401);
  const before = await journal(port);
  assert.equal(before.store, 'journal');
  assert.ok(before.segments >= 1);
  assert.deepEqual(before.alarms, []);
  assert.equal(before.recovery.torn_tail_bytes, 0);
  assert.equal(before.recovery.skipped_bytes, 0);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('j', { durable: true });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 20; i++) ch.sendToQueue('j', Buffer.alloc(100), { persistent: true });
    await ch.waitForConfirms();
  }
  const after = await journal(port);
  assert.ok(
    after.fsync_seconds.count >= before.fsync_seconds.count + 3,
    'three confirmed rounds, three fsyncs at least',
  );
  assert.equal(after.fsync_seconds.count, after.syncs);
  assert.ok(after.commit_batch_records.sum >= before.commit_batch_records.sum + 60);
  assert.ok(after.bytes > before.bytes + 6000);
  const inf = after.fsync_seconds.buckets.at(-1)!;
  assert.deepEqual(inf, { le: '+Inf', count: after.fsync_seconds.count });
  assert.ok(after.body_memory_bytes >= 6000);
});

void test('GET /api/baton/journal: the memory store reports what applies to it', async (t) => {
  const { server } = await startBroker(t, { httpPort: 0, store: 'memory' });
  const h = await journal(server.ports.get('http')!);
  assert.equal(h.store, 'memory');
  assert.equal(h.segments, 0);
  assert.equal(h.fsync_seconds.count, 0);
});

void test('prometheus: baton_paged_bytes counts messages paged out past the body budget, and falls back to 0 once they are read', async (t) => {
  const { url, server } = await startBroker(t, { prometheusPort: 0, bodyBudget: 64 * 1024 });
  const port = server.ports.get('prometheus')!;
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('deep', { durable: true });
  await ch.assertQueue('spilled'); // transient: spilled, not paged
  for (let i = 0; i < 200; i++) {
    ch.sendToQueue('deep', Buffer.alloc(1024), { persistent: true });
    ch.sendToQueue('spilled', Buffer.alloc(1024));
  }
  await ch.waitForConfirms();
  const full = await scrape(port);
  // Well over half of the 400 KiB is out of memory: the budget holds 64 KiB.
  assert.ok(value(full, 'baton_paged_bytes') > 200 * 1024, 'paged out');
  assert.ok(value(full, 'baton_body_memory_bytes') <= 80 * 1024);
  assert.equal(value(full, 'baton_body_memory_limit_bytes'), 64 * 1024);
  for (const q of ['deep', 'spilled']) {
    let n = 0;
    await ch.consume(q, () => void n++, { noAck: true });
    await until(() => n === 200, `all of '${q}'`);
  }
  const empty = await scrape(port);
  assert.equal(value(empty, 'baton_paged_bytes'), 0);
});
