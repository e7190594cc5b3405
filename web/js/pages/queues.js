// Queues: depth, rates, consumers and state of every queue; filter, sort, open one.

import { get, seg } from '../api.js';
import { h, replace } from '../dom.js';
import { num, rateColumn } from '../format.js';
import { POLL_MS } from '../live.js';
import { errorBox, pageHead, pill, table } from '../ui.js';

const view = { filter: '', sort: { key: 'name', dir: 1 } };

export const queueHref = (vhost, name) => `#/queues/${seg(vhost)}/${seg(name)}`;

/** Depth relative to the deepest queue listed: ready then unacked. */
let deepest = 1;
function depthBar(q) {
  const bar = h('span.depth', {
    title: `${num(q.messages_ready)} ready, ${num(q.messages_unacknowledged)} unacked`,
  });
  for (const [cls, n] of [
    ['span.depth-ready', q.messages_ready ?? 0],
    ['span.depth-unacked', q.messages_unacknowledged ?? 0],
  ]) {
    if (n <= 0) continue;
    const part = h(cls);
    part.style.width = `${Math.max(4, (n / deepest) * 100)}%`;
    bar.append(part);
  }
  return bar;
}

export const stateOf = (q) => {
  const st = q.state ?? 'running';
  return pill(st, st === 'running' ? 'ok' : st === 'idle' ? '' : 'warn');
};

const COLUMNS = [
  {
    key: 'name',
    label: 'Name',
    value: (q) => q.name,
    render: (q) =>
      h('a.qname', { href: queueHref(q.vhost, q.name) }, q.name === '' ? '(unnamed)' : q.name),
  },
  { key: 'vhost', label: 'Vhost', value: (q) => q.vhost },
  {
    key: 'features',
    label: 'Features',
    value: (q) => features(q).join(' '),
    render: (q) => features(q).map((f) => pill(f)),
  },
  { key: 'state', label: 'State', value: (q) => q.state ?? '', render: stateOf },
  {
    key: 'ready',
    label: 'Ready',
    num: true,
    value: (q) => q.messages_ready ?? 0,
    render: (q) => num(q.messages_ready),
  },
  {
    key: 'unacked',
    label: 'Unacked',
    num: true,
    value: (q) => q.messages_unacknowledged ?? 0,
    render: (q) => num(q.messages_unacknowledged),
  },
  {
    key: 'total',
    label: 'Total',
    num: true,
    value: (q) => q.messages ?? 0,
    render: (q) => h('span.total', depthBar(q), num(q.messages)),
  },
  rateColumn('in', 'In', 'publish'),
  rateColumn('out', 'Out', 'deliver_get'),
  rateColumn('ack', 'Ack', 'ack'),
  {
    key: 'consumers',
    label: 'Consumers',
    num: true,
    value: (q) => q.consumers ?? 0,
    render: (q) => num(q.consumers),
  },
];

export function features(q) {
  const f = [];
  if (q.durable) f.push('D');
  if (q.auto_delete) f.push('AD');
  if (q.exclusive) f.push('Excl');
  const a = q.arguments ?? {};
  if (a['x-queue-type'] && a['x-queue-type'] !== 'classic') f.push(String(a['x-queue-type']));
  if ('x-dead-letter-exchange' in a) f.push('DLX');
  if ('x-message-ttl' in a) f.push('TTL');
  if ('x-max-length' in a || 'x-max-length-bytes' in a) f.push('Lim');
  if ('x-max-priority' in a) f.push('Pri');
  return f;
}

export function queuesPage(main) {
  const filter = h('input.filter', {
    type: 'search',
    placeholder: 'Filter by name (regex)',
    'aria-label': 'Filter queues',
    value: view.filter,
    oninput: () => {
      view.filter = filter.value;
      paint();
    },
  });
  const count = h('span.muted');
  const body = h('div', h('p.muted', 'Loading…'));
  main.append(pageHead('Queues', count, filter), body);
  let rows;
  let error;
  const paint = () => {
    if (error && !rows) return replace(body, errorBox(error));
    let re;
    try {
      re = new RegExp(view.filter, 'i');
    } catch {
      re = { test: (s) => s.toLowerCase().includes(view.filter.toLowerCase()) };
    }
    const shown = (rows ?? []).filter((q) => re.test(q.name));
    deepest = Math.max(1, ...shown.map((q) => q.messages ?? 0));
    replace(count, rows ? `${shown.length} of ${rows.length}` : '');
    replace(
      body,
      error ? errorBox(error, 'Refresh failed') : null,
      table({
        columns: COLUMNS,
        rows: shown,
        sort: view.sort,
        onSort: (s) => {
          view.sort = s;
          paint();
        },
        rowKey: (q) => `${q.vhost}/${q.name}`,
        empty: rows?.length ? 'No queue matches the filter.' : 'No queues yet.',
      }),
    );
  };
  let timer;
  let stopped = false;
  const load = async () => {
    try {
      rows = await get('queues');
      error = undefined;
    } catch (err) {
      error = err;
    }
    if (stopped) return;
    paint();
    timer = setTimeout(load, POLL_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
