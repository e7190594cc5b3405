// Exchanges: type, flags and message rates in and out.

import { get } from '../api.js';
import { h, replace } from '../dom.js';
import { rateColumn } from '../format.js';
import { POLL_MS } from '../live.js';
import { errorBox, pageHead, pill, table } from '../ui.js';

const view = { sort: { key: 'name', dir: 1 } };

const COLUMNS = [
  {
    key: 'name',
    label: 'Name',
    value: (x) => x.name,
    render: (x) => h('code', x.name === '' ? '(AMQP default)' : x.name),
  },
  { key: 'vhost', label: 'Vhost', value: (x) => x.vhost },
  { key: 'type', label: 'Type', value: (x) => x.type, render: (x) => pill(x.type ?? '?') },
  {
    key: 'features',
    label: 'Features',
    value: (x) =>
      [x.durable && 'D', x.auto_delete && 'AD', x.internal && 'I'].filter(Boolean).join(' '),
    render: (x) => [
      x.durable ? pill('D') : null,
      x.auto_delete ? pill('AD') : null,
      x.internal ? pill('I') : null,
    ],
  },
  rateColumn('in', 'In', 'publish_in', true),
  rateColumn('out', 'Out', 'publish_out', true),
];

export function exchangesPage(main) {
  const body = h('div', h('p.muted', 'Loading…'));
  main.append(pageHead('Exchanges'), body);
  let rows;
  let timer;
  let stopped = false;
  const paint = (err) =>
    replace(
      body,
      err ? errorBox(err, rows ? 'Refresh failed' : 'Could not load') : null,
      rows
        ? table({
            // Rate columns only when the broker keeps per-exchange message_stats.
            columns: rows.some((x) => x.message_stats) ? COLUMNS : COLUMNS.filter((c) => !c.stats),
            rows,
            sort: view.sort,
            onSort: (s) => {
              view.sort = s;
              paint();
            },
          })
        : null,
    );
  const load = async () => {
    let error;
    try {
      rows = await get('exchanges');
    } catch (err) {
      error = err;
    }
    if (stopped) return;
    paint(error);
    timer = setTimeout(load, POLL_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
