// Overview: live message-rate and queued-message charts, object totals, the node's memory,
// disk and alarms, listeners, and the journal's health.

import { get, isMissingEndpoint } from '../api.js';
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

  let stopped = false;
  const loadJournal = async () => {
    try {
      replace(journal, journalView(await get('baton/journal')));
    } catch (err) {
      replace(
        journal,
        isMissingEndpoint(err)
          ? h('p.muted', 'Journal health is not available on this broker (GET /api/baton/journal).')
          : errorBox(err),
      );
    }
    if (!stopped) jt = setTimeout(loadJournal, POLL_MS);
  };
  let jt = setTimeout(loadJournal, 0);
  return () => {
    stopped = true;
    clearTimeout(jt);
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

const label = (k) => k.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** Formats a journal stat by what its name says it measures. */
function journalValue(key, v) {
  if (typeof v === 'boolean')
    return v ? pill('yes', key.includes('fail') || key.includes('error') ? 'bad' : 'ok') : 'no';
  if (typeof v !== 'number') return String(v);
  if (/bytes/i.test(key)) return bytes(v);
  if (/_ms$|latency|millis/i.test(key)) return millis(v);
  if (/_us$|micros/i.test(key)) return millis(v / 1000);
  return num(v);
}

function journalView(j) {
  if (!j || typeof j !== 'object') return h('p.muted', 'No journal data.');
  const pairs = [];
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix} ${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, key);
      else if (Array.isArray(v)) pairs.push([label(key), `${v.length} entries`]);
      else pairs.push([label(key), journalValue(key, v)]);
    }
  };
  walk(j, '');
  const trouble = pairs.some(
    ([k, v]) => /torn|skipped|fail|error/i.test(k) && v !== '0' && v !== 'no' && v !== '0 B',
  );
  return h(
    'div',
    trouble
      ? h('p', pill('check the log', 'warn'), ' the journal reported damage it recovered from')
      : null,
    kv(pairs),
  );
}
