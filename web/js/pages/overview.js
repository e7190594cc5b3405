// Overview: live message-rate and queued-message charts, object totals, the node's memory,
// disk and alarms, listeners, and the journal's health.

import { createChart } from '../chart.js';
import { h, replace } from '../dom.js';
import { bytes, compact, duration, millis, num, rate } from '../format.js';
import { live, POLL_MS, subscribe } from '../live.js';
import { card, errorBox, kv, pageHead, pill, tile } from '../ui.js';

const RATE_SERIES = [
  { key: 'publish', label: 'Publish' },
  { key: 'deliver_get', label: 'Deliver / get' },
  { key: 'ack', label: 'Ack' },
  { key: 'redeliver', label: 'Redeliver' },
  { key: 'confirm', label: 'Confirm' },
];
const QUEUED_SERIES = [
  { key: 'ready', label: 'Ready' },
  { key: 'unacked', label: 'Unacked' },
];

export function overviewPage(main) {
  const status = h('div');
  const tiles = h('div.tiles', { 'data-tiles': '' });
  const rateHost = h('div');
  const queuedHost = h('div');
  const node = h('div');
  const listeners = h('div');
  const journal = h('div', { 'data-journal': '' }, h('p.muted', 'Loading…'));
  main.append(
    pageHead('Overview', h('span.muted', `updates every ${POLL_MS / 1000} s`)),
    status,
    tiles,
    h('div.grid-2', card(null, rateHost), card(null, queuedHost)),
    h(
      'div.grid-3',
      card('Node', node),
      card('Journal health', journal),
      card('Listeners', listeners),
    ),
  );
  const rates = createChart(rateHost, {
    title: 'Message rates',
    unit: 'msg/s',
    series: RATE_SERIES,
  });
  const queued = createChart(queuedHost, { title: 'Queued messages', series: QUEUED_SERIES });

  const paint = (st) => {
    replace(status, st.error ? errorBox(st.error, 'Overview unavailable') : null);
    rates.update(st.rates);
    queued.update(st.queued);
    const o = st.overview;
    if (!o) return;
    const q = o.queue_totals ?? {};
    const t = o.object_totals ?? {};
    const m = o.message_stats ?? {};
    const last = st.rates[st.rates.length - 1]?.v ?? {};
    replace(
      tiles,
      tile(
        'Messages',
        num(q.messages),
        `${num(q.messages_ready)} ready · ${num(q.messages_unacknowledged)} unacked`,
      ),
      tile('Publish', rate(last.publish), `${compact(m.publish)} total`),
      tile('Deliver / get', rate(last.deliver_get), `${compact(m.deliver_get)} total`),
      tile('Queues', num(t.queues), `${num(t.consumers)} consumers`),
      tile('Connections', num(t.connections), `${num(t.channels)} channels`),
      tile('Exchanges', num(t.exchanges)),
    );
    replace(node, nodeView(st.nodes, o));
    replace(
      journal,
      st.journal
        ? journalView(st.journal)
        : st.journalError
          ? errorBox(st.journalError)
          : h(
              'p.muted',
              'Journal health is not available on this broker (GET /api/baton/journal).',
            ),
    );
    replace(
      listeners,
      Array.isArray(o.listeners) && o.listeners.length
        ? h(
            'ul.plain',
            o.listeners.map((l) =>
              h(
                'li',
                pill(l.protocol ?? '?'),
                ' ',
                h('code', `${l.ip_address ?? ''}:${l.port ?? ''}`),
              ),
            ),
          )
        : h('p.muted', 'No listeners reported.'),
    );
  };
  const unsubscribe = subscribe(paint);
  paint(live());

  return () => {
    unsubscribe();
    rates.destroy();
    queued.destroy();
  };
}

function meter(label, used, limit, alarm, fmt = bytes) {
  const pct = limit > 0 ? Math.min(100, (used / limit) * 100) : 0;
  const bar = h('span.meter-fill', { class: alarm ? 'alarm' : pct > 80 ? 'warn' : '' });
  bar.style.width = `${pct.toFixed(1)}%`;
  return h(
    'div.meter',
    h(
      'div.meter-head',
      h('span', label),
      h('span', alarm ? pill('ALARM', 'bad') : null, ' ', `${fmt(used)} / ${fmt(limit)}`),
    ),
    h('div.meter-bar', bar),
  );
}

function nodeView(nodes, o) {
  const n = nodes[0];
  if (!n) return h('p.muted', 'No node information (GET /api/nodes).');
  const disk =
    typeof n.disk_free === 'number'
      ? h(
          'div.meter',
          h(
            'div.meter-head',
            h('span', 'Disk free'),
            h(
              'span',
              n.disk_free_alarm ? pill('ALARM', 'bad') : null,
              ' ',
              `${bytes(n.disk_free)} (limit ${bytes(n.disk_free_limit)})`,
            ),
          ),
        )
      : null;
  return h(
    'div',
    kv([
      ['Name', n.name ?? o.node],
      ['Version', o.rabbitmq_version ?? o.management_version ?? n.version],
      ['Uptime', duration(n.uptime)],
      ['Status', n.running === false ? pill('stopped', 'bad') : pill('running', 'ok')],
    ]),
    typeof n.mem_used === 'number' ? meter('Memory', n.mem_used, n.mem_limit, n.mem_alarm) : null,
    disk,
    typeof n.fd_used === 'number'
      ? meter('File descriptors', n.fd_used, n.fd_total, false, num)
      : null,
  );
}

/** The q-quantile's upper bucket bound from Prometheus-style cumulative buckets. */
function quantile(hist, q) {
  if (!hist || !(hist.count > 0) || !Array.isArray(hist.buckets)) return undefined;
  const want = q * hist.count;
  for (const b of hist.buckets) if (b.count >= want) return b.le === '+Inf' ? Infinity : b.le;
  return undefined;
}

const secs = (v) => (v === Infinity ? '> max bucket' : millis(v * 1000));

/** Bars of a latency histogram: each bucket's own share (not cumulative). */
function histogramBars(hist) {
  const bs = (hist?.buckets ?? []).filter((b) => b.le !== '+Inf');
  let prev = 0;
  const own = bs.map((b) => {
    const n = b.count - prev;
    prev = b.count;
    return { le: b.le, n };
  });
  // Trim empty buckets at both ends so the shape is readable.
  while (own.length && own[0].n === 0) own.shift();
  while (own.length && own[own.length - 1].n === 0) own.pop();
  if (own.length === 0) return null;
  const max = Math.max(...own.map((b) => b.n));
  return h(
    'div.hist',
    { 'aria-label': 'fsync latency histogram' },
    own.map((b) => {
      const bar = h('span.hist-bar');
      bar.style.height = `${Math.max(2, (b.n / max) * 100)}%`;
      return h(
        'span.hist-col',
        { title: `≤ ${secs(b.le)}: ${num(b.n)} syncs` },
        bar,
        h('span.hist-label', secs(b.le)),
      );
    }),
  );
}

function journalView(j) {
  const r = j.recovery ?? {};
  const f = j.fsync_seconds;
  const c = j.commit_batch_records;
  const damaged = r.torn_tail_bytes > 0 || r.skipped_bytes > 0 || r.skipped_ranges > 0;
  const status = j.failure
    ? h('p', pill('failed', 'bad'), ' ', j.failure)
    : j.stall
      ? h('p', pill('stalled', 'warn'), ' ', j.stall)
      : h('p', pill('healthy', 'ok'), damaged ? pill('recovered damage', 'warn') : null);
  return h(
    'div',
    { 'data-journal-store': j.store ?? '' },
    status,
    kv([
      ['Store', j.store],
      typeof j.segments === 'number'
        ? ['Segments', `${num(j.segments)} (${num(j.spare_files ?? 0)} spare)`]
        : null,
      typeof j.bytes === 'number' ? ['Size', bytes(j.bytes)] : null,
      typeof j.live_messages === 'number' ? ['Live messages', num(j.live_messages)] : null,
      typeof j.syncs === 'number' ? ['Syncs', num(j.syncs)] : null,
      f?.count > 0 ? ['Fsync mean', secs(f.sum / f.count)] : null,
      f?.count > 0
        ? ['Fsync p50 / p99', `≤ ${secs(quantile(f, 0.5))} / ≤ ${secs(quantile(f, 0.99))}`]
        : null,
      c?.count > 0 ? ['Records per commit', (c.sum / c.count).toFixed(1)] : null,
      typeof j.body_memory_bytes === 'number'
        ? [
            'Message bodies in memory',
            `${bytes(j.body_memory_bytes)} of ${bytes(j.body_memory_limit_bytes)}`,
          ]
        : null,
      typeof j.paged_bytes === 'number' ? ['Paged to disk', bytes(j.paged_bytes)] : null,
    ]),
    f?.count > 0 ? [h('h3', 'Fsync latency'), histogramBars(f)] : null,
    h('h3', 'Last recovery'),
    kv([
      ['Clean', r.clean === false ? pill('no', 'warn') : pill('yes', 'ok')],
      ['Torn tail cut', bytes(r.torn_tail_bytes)],
      ['Skipped', `${bytes(r.skipped_bytes)} in ${num(r.skipped_ranges)} ranges`],
      ['Replayed', `${num(r.records)} records, ${num(r.messages)} messages in ${millis(r.ms)}`],
    ]),
  );
}
